"""Every compliance page and the audit exports through the permission matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from compliance import services
from compliance.registers import REGISTERS
from tests import matrix_coverage
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db

DPO = ["dpo"]
HANDLERS = ["dpo", "supervisor"]


def habilitate_extract(person) -> None:
    HabilitationFactory(
        user=person, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )


@pytest.fixture
def access_request():
    camera = CameraFactory(code="CAM-MX1")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 3)
    return services.access_request_create(
        requester_last_name="Durand",
        requester_first_name="Paul",
        identity_document="passport",
        identity_document_ref="AB1234",
        description="Veste noire.",
        place="Rue de Boigne",
        starts_at=start,
        ends_at=start + timedelta(minutes=2),
        cameras=[camera],
        actor=UserFactory(role="dpo"),
    )


def test_compliance_index_page():
    check_matrix(url="/conformite/", allowed=DPO)


@pytest.mark.parametrize("slug", sorted(REGISTERS))
def test_register_pages_and_exports(slug):
    for suffix in ("", "?format=csv", "?format=pdf&since=2026-01-01&until=2026-01-31"):
        check_matrix(url=f"/conformite/registres/{slug}/{suffix}", allowed=DPO)


def test_audit_pack_page_and_build():
    check_matrix(url="/conformite/dossier-de-controle/", allowed=DPO)
    check_matrix(
        url="/conformite/dossier-de-controle/",
        method="post",
        data={"since": "2026-01-01", "until": "2026-01-31"},
        allowed=DPO,
    )


def test_audit_trail_exports():
    check_matrix(url="/audit/export.csv?action=recording.playback", allowed=DPO)
    check_matrix(url="/audit/export.pdf", allowed=DPO)


def test_access_request_pages(access_request):
    check_matrix(url="/conformite/demandes-acces/", allowed=HANDLERS)
    # Registering a request (the identity check) and answering it are the DPO's acts.
    check_matrix(url="/conformite/demandes-acces/nouvelle/", allowed=DPO)
    check_matrix(url="/conformite/demandes-acces/nouvelle/", method="post", data={}, allowed=DPO)
    check_matrix(url=f"/conformite/demandes-acces/{access_request.pk}/", allowed=HANDLERS)
    check_matrix(
        url=f"/conformite/demandes-acces/{access_request.pk}/reponse/",
        method="post",
        data={"answer": "refuse", "refusal_reason": ""},
        allowed=DPO,
        ok=(302,),
    )


def test_extract_pages_need_an_extraction_habilitation_and_the_dpo_validates(access_request):
    base = f"/conformite/demandes-acces/{access_request.pk}/extrait/CAM-MX1/"
    check_matrix(
        url=base,
        method="post",
        data={"keep_areas": "not json"},
        allowed=["supervisor"],
        habilitate=habilitate_extract,
        ok=(302,),
    )
    # The editor drawing the areas, and the recorded picture it draws on.
    check_matrix(
        url=base + "zones/", allowed=["supervisor"], habilitate=habilitate_extract, ok=(200,)
    )
    # (The segments written here hold no real video: refused in words, 404.)
    check_matrix(
        url=base + "image.jpg?t=1",
        allowed=["supervisor"],
        habilitate=habilitate_extract,
        ok=(404,),
    )
    # No extract prepared yet: the DPO's validation is refused in words on the request's page.
    check_matrix(url=base + "validation/", method="post", allowed=DPO, ok=(302,))
    # No extract prepared yet: once allowed, the download is 404.
    check_matrix(
        url=base + "telecharger/",
        allowed=["supervisor"],
        habilitate=habilitate_extract,
        ok=(404,),
    )


def test_public_notice_is_open_to_everyone_in_french(dpo, signed_in):
    # Public by design: anonymous gets 200, which the matrix helper would call a leak.
    matrix_coverage.note("/public/information/")
    response = Client().get("/public/information/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Responsable du traitement" in text and "CNIL" in text
    assert "dpo@mairie-chambery.fr" in text
    # Signed in without the second factor: still open (the path is under /public/).
    half = Client()
    half.force_login(UserFactory(role="supervisor"))
    assert half.get("/public/information/").status_code == 200
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get("/public/information/").status_code == 200
