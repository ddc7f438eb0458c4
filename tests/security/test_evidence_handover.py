"""Attacks on the handover of an export: a link scanner, a curious colleague, a replay.

Before, the supervisor copied a single-use URL into a message; an e-mail link scanner that
opened it (a GET) burnt it before the officer did, and a GET was enough to take the package.
Now the package leaves only on a POST from the signed-in officer's own requisition page.
"""

from __future__ import annotations

import re

import pytest

from evidence import services
from evidence.models import DownloadLink, Status
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import night_requisition, ready_export, released_export
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(opj, magistrate, supervisor):
    requisition = night_requisition(opj, [CameraFactory(), CameraFactory()])
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    export = released_export(requisition, supervisor)
    requisition.refresh_from_db()
    return requisition, export


def _every_url_of(requisition, link) -> list[str]:
    pk = requisition.pk
    return [
        f"/requisitions/{pk}/",
        f"/requisitions/{pk}/telechargement/",
        f"/requisitions/{pk}/remise/{link.pk}/proces-verbal/",
        f"/api/requisitions/{pk}/",
        f"/api/requisitions/{pk}/download/",
        "/requisitions/",
        "/accueil/",
    ]


def test_a_link_scanner_opening_every_address_burns_nothing(released, opj, signed_in):
    requisition, export = released
    link = DownloadLink.objects.get(export=export)
    officer = signed_in(opj)
    # The scanner (or a browser's pre-fetch) follows every address, with the officer's session.
    for url in _every_url_of(requisition, link):
        for method in ("get", "head", "options"):
            getattr(officer, method)(url)
    link.refresh_from_db()
    requisition.refresh_from_db()
    assert link.used_at is None
    assert requisition.status == Status.READY
    # ... and the officer still downloads, once.
    assert officer.post(f"/requisitions/{requisition.pk}/telechargement/").status_code == 200


def test_a_colleague_cannot_take_the_package(released, opj, signed_in):
    requisition, _export = released
    colleague = signed_in(UserFactory(role="opj", service=opj.service))
    assert colleague.post(f"/requisitions/{requisition.pk}/telechargement/").status_code == 403
    assert colleague.post(f"/api/requisitions/{requisition.pk}/download/").status_code == 403
    assert not DownloadLink.objects.filter(used_at__isnull=False).exists()


def test_an_officer_of_another_service_does_not_even_see_it(released, opj_other_service, signed_in):
    requisition, _export = released
    outsider = signed_in(opj_other_service)
    assert outsider.post(f"/requisitions/{requisition.pk}/telechargement/").status_code == 404
    assert not DownloadLink.objects.filter(used_at__isnull=False).exists()


def test_a_replayed_download_is_refused(released, opj, signed_in):
    requisition, _export = released
    officer = signed_in(opj)
    assert officer.post(f"/requisitions/{requisition.pk}/telechargement/").status_code == 200
    replay = officer.post(f"/requisitions/{requisition.pk}/telechargement/")
    assert replay.status_code == 400
    assert DownloadLink.objects.filter(used_at__isnull=False).count() == 1


def test_the_download_needs_the_second_factor(released, opj, client):
    requisition, _export = released
    client.force_login(opj)  # password only: no second factor given
    response = client.post(f"/requisitions/{requisition.pk}/telechargement/")
    assert response.status_code == 302
    assert "/comptes/otp/" in response["Location"]
    assert not DownloadLink.objects.filter(used_at__isnull=False).exists()


def test_no_address_shown_at_release_burns_the_download_when_opened(
    opj, magistrate, supervisor, signed_in
):
    """The scanner of the officer's mailbox opens every address the supervisor passed on."""
    requisition = night_requisition(opj, [CameraFactory(), CameraFactory()])
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    export = ready_export(requisition, supervisor)
    page = signed_in(supervisor).post(f"/requisitions/{requisition.pk}/liberation/", follow=True)
    assert page.status_code == 200
    shown = set(re.findall(r"https?://[^\s<\"']+|/[a-z][^\s<\"']*/", page.content.decode()))
    officer = signed_in(opj)
    for address in shown:
        officer.get(address.replace("http://testserver", ""))
    assert not DownloadLink.objects.filter(export=export, used_at__isnull=False).exists()
    requisition.refresh_from_db()
    assert requisition.status == Status.READY
