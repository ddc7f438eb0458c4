"""The communes and conventions pages and endpoints, for every kind of visitor: administrators
change them, the DPO reads them, nobody else opens them."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Agreement, Commune, home_commune
from accounts.roles import Role
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

READERS = [Role.ADMIN, Role.DPO]
MANAGERS = [Role.ADMIN]
_numbers = count(1)


def _commune() -> Commune:
    n = next(_numbers)
    return Commune.objects.create(name=f"Commune {n}", insee_code=f"{74000 + n:05d}")


def _agreement() -> Agreement:
    today = timezone.localdate()
    return services.agreement_create(
        reference=f"CONV-{next(_numbers)}",
        title="Mutualisation",
        signed_on=today - timedelta(days=3),
        signed_by="Les maires",
        valid_from=today,
        viewer_communes=[home_commune()],
        camera_communes=[_commune()],
        actor="test",
    )


@pytest.mark.parametrize("url", ["/comptes/communes/"])
def test_reading_pages(url):
    check_matrix(url=url, allowed=READERS)


def test_agreement_detail_page():
    check_matrix(url=f"/comptes/conventions/{_agreement().pk}/", allowed=READERS)


@pytest.mark.parametrize("url", ["/comptes/communes/nouvelle/", "/comptes/conventions/nouvelle/"])
def test_forms(url):
    check_matrix(url=url, allowed=MANAGERS)


def test_commune_edit_form():
    check_matrix(url=f"/comptes/communes/{_commune().pk}/modifier/", allowed=MANAGERS)


def test_agreement_end_form():
    check_matrix(url=f"/comptes/conventions/{_agreement().pk}/fin/", allowed=MANAGERS)


def test_creating_a_commune_on_the_page():
    check_matrix(
        url="/comptes/communes/nouvelle/",
        method="post",
        allowed=MANAGERS,
        ok=[302],
        data=lambda: {"name": "Cognin", "insee_code": f"{75000 + next(_numbers):05d}"},
    )


def test_ending_a_convention_on_the_page():
    check_matrix(
        url=lambda: f"/comptes/conventions/{_agreement().pk}/fin/",
        method="post",
        allowed=MANAGERS,
        ok=[302],
        data={"reason": "Dénonciation"},
    )


@pytest.mark.parametrize("url", ["/api/communes/", "/api/agreements/"])
def test_api_reads(url):
    check_matrix(url=url, allowed=READERS, api=True)


def test_api_details():
    check_matrix(url=f"/api/communes/{_commune().pk}/", allowed=READERS, api=True)
    check_matrix(url=f"/api/agreements/{_agreement().pk}/", allowed=READERS, api=True)


def test_api_create_commune_is_for_admins_only():
    check_matrix(
        url="/api/communes/",
        method="post",
        api=True,
        allowed=MANAGERS,
        ok=[201],
        data=lambda: {"name": "Barberaz", "insee_code": f"{76000 + next(_numbers):05d}"},
    )


def test_api_update_commune_is_for_admins_only():
    commune = _commune()
    check_matrix(
        url=f"/api/communes/{commune.pk}/",
        method="patch",
        api=True,
        allowed=MANAGERS,
        data={"name": "Nouveau nom"},
    )


def test_api_create_agreement_is_for_admins_only():
    viewer, cameras = home_commune(), _commune()
    today = timezone.localdate().isoformat()
    check_matrix(
        url="/api/agreements/",
        method="post",
        api=True,
        allowed=MANAGERS,
        ok=[201],
        data=lambda: {
            "reference": f"CONV-API-{next(_numbers)}",
            "title": "Mutualisation",
            "signed_on": today,
            "signed_by": "Les maires",
            "valid_from": today,
            "viewer_communes": [viewer.pk],
            "camera_communes": [cameras.pk],
        },
    )


def test_api_end_agreement_is_for_admins_only():
    check_matrix(
        url=lambda: f"/api/agreements/{_agreement().pk}/end/",
        method="post",
        api=True,
        allowed=MANAGERS,
        data={"reason": "Dénonciation"},
    )
