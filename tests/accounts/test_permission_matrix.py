"""Every page and endpoint of the foundation, for every kind of visitor."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

ALL = Role.values


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/accueil/", ALL),
        ("/audit/", [Role.DPO]),
    ],
)
def test_pages(url, allowed):
    check_matrix(url=url, allowed=allowed)


def test_audit_event_detail_page(operator):
    from audit.services import record

    event = record("auth.login", actor=operator)
    check_matrix(url=f"/audit/{event.seq}/", allowed=[Role.DPO])


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/api/me/", ALL),
        ("/api/users/", [Role.ADMIN, Role.DPO]),
        ("/api/habilitations/", [Role.ADMIN, Role.DPO]),
        ("/api/services/", [Role.ADMIN, Role.DPO, Role.MAGISTRATE]),
        ("/api/audit/events/", [Role.DPO]),
        ("/api/audit/chain/", [Role.DPO]),
    ],
)
def test_api_reads(url, allowed):
    check_matrix(url=url, allowed=allowed, api=True)


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_api_documentation_is_read_like_a_page(url):
    """A browser is sent to the sign-in page, then to the code page (tests/accounts/test_api_docs.py
    checks that a token is answered in JSON)."""
    check_matrix(url=url, allowed=ALL)


def test_api_create_user_is_for_admins_only():
    counter = iter(range(1000))
    check_matrix(
        url="/api/users/",
        method="post",
        api=True,
        allowed=[Role.ADMIN],
        ok=[201],
        data=lambda: {
            "username": f"nouvel.agent{next(counter)}",
            "role": Role.OPERATOR,
            "password": "Un-mot-de-passe-tres-long-2026",
        },
    )


def test_api_create_habilitation_is_for_admins_only():
    holder = UserFactory(role=Role.OPERATOR)
    check_matrix(
        url="/api/habilitations/",
        method="post",
        api=True,
        allowed=[Role.ADMIN],
        ok=[201],
        data={
            "user": holder.pk,
            "decision_reference": "ARR-2026-0042",
            "issuer": "Maire de Chambéry",
            "valid_from": "2026-01-01",
            "valid_until": "2030-12-31",
            "sectors": [CameraFactory(sector="centre-ville").sector],
            "can_live": True,
        },
    )


def test_api_revoke_habilitation_is_for_admins_only():
    def url():
        return f"/api/habilitations/{HabilitationFactory().pk}/revoke/"

    check_matrix(
        url=url, method="post", api=True, allowed=[Role.ADMIN], data={"reason": "fin de mission"}
    )


def test_api_user_detail_is_for_admins_and_dpo():
    person = UserFactory(role=Role.OPERATOR)
    check_matrix(url=f"/api/users/{person.pk}/", allowed=[Role.ADMIN, Role.DPO], api=True)


def test_api_user_update_is_for_admins_only():
    person = UserFactory(role=Role.OPERATOR)
    check_matrix(
        url=f"/api/users/{person.pk}/",
        method="patch",
        api=True,
        allowed=[Role.ADMIN],
        data={"badge_number": "M-1234"},
    )


def test_api_habilitation_detail_is_for_admins_and_dpo():
    habilitation = HabilitationFactory()
    check_matrix(
        url=f"/api/habilitations/{habilitation.pk}/", allowed=[Role.ADMIN, Role.DPO], api=True
    )


def test_api_service_detail():
    from tests.factories import ServiceFactory

    service = ServiceFactory()
    check_matrix(
        url=f"/api/services/{service.pk}/",
        allowed=[Role.ADMIN, Role.DPO, Role.MAGISTRATE],
        api=True,
    )


def test_api_token_is_issued_to_any_verified_person():
    check_matrix(url="/api/auth/token/", method="post", allowed=ALL, api=True, ok=[201])


def test_password_change_page_is_for_every_signed_in_person():
    check_matrix(url="/comptes/mot-de-passe/", allowed=ALL)


def test_password_change_page_post_is_for_every_signed_in_person():
    # A wrong old password: the form is shown again with its error (nothing changes).
    check_matrix(
        url="/comptes/mot-de-passe/",
        method="post",
        allowed=ALL,
        data={
            "old_password": "pas-le-bon",
            "new_password1": "Lac-du-Bourget-2026!",
            "new_password2": "Lac-du-Bourget-2026!",
        },
    )


def test_api_sign_out_is_for_any_verified_person():
    check_matrix(url="/api/auth/token/", method="delete", allowed=ALL, api=True, ok=[204])
