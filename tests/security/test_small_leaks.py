"""Small leaks, as the curious insider tries them.

A supervisor opens a rejected requisition (page and API) hoping to read what the police were
after; a supervisor or the DPO reads the holds (page and API) hoping to learn the procedure of a
requisition still waiting for the magistrate, which evidence does not let them see.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence import services
from evidence.models import Requisition, Status
from operations.models import Category
from operations.services import signalement_create
from recordings.models import Hold
from tests.cameras.factories import CameraFactory
from tests.evidence.factories import RequisitionFactory
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db

PROCEDURE = "2026/TEMOIN-0777"
# No character that HTML escapes: a leak on a page must be found as written.
FACTS = "Agression du témoin protégé Jean Valmont rue de Boigne."
JUSTIFICATION = "Identifier le conducteur du fourgon blanc avant sa fuite."
REJECTION = "Atteinte disproportionnée : la victime est un témoin sous protection."
SECRETS = (PROCEDURE, FACTS, JUSTIFICATION, REJECTION)


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def signalement(operator):
    return signalement_create(
        actor=operator,
        category=Category.CRIME,
        occurred_at=timezone.now() - timedelta(hours=2),
        location="Rue de Boigne",
        description="Altercation signalée par une passante.",
    )


@pytest.fixture
def requisition(opj, signalement):
    """A requisition just submitted by the police about a signalement of the room, its footage
    held at once."""
    camera = CameraFactory(code="CAM-SEC1", name="Rue de Boigne")
    start = timezone.now() - timedelta(hours=2)
    record_segments(camera, start, 5)
    return RequisitionFactory(
        procedure_number=PROCEDURE,
        facts=FACTS,
        justification=JUSTIFICATION,
        camera=camera,
        starts_at=start,
        ends_at=start + timedelta(minutes=3),
        actor=opj,
        signalements=[signalement.number],
    )


def _decide(requisition, magistrate, outcome, reason=""):
    services.requisition_decide(
        requisition=requisition, outcome=outcome, reason=reason, actor=magistrate
    )
    requisition.refresh_from_db()
    return requisition


def _leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _json(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


# --- a supervisor and a rejected requisition ---------------------------------------------------


def test_supervisor_reads_only_reference_and_status_of_a_rejected_requisition_page(
    requisition, magistrate, supervisor, signed_in
):
    _decide(requisition, magistrate, "reject", REJECTION)
    client = signed_in(supervisor)

    page = client.get(reverse("evidence:requisition_detail", args=[requisition.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert requisition.reference in text
    assert "Refusée" in text or requisition.get_status_display() in text
    assert _leaked(text) == []

    listing = client.get(reverse("evidence:requisition_list")).content.decode()
    assert requisition.reference in listing
    assert _leaked(listing) == []


def test_supervisor_reads_only_reference_and_status_of_a_rejected_requisition_api(
    requisition, magistrate, supervisor, signed_in
):
    _decide(requisition, magistrate, "reject", REJECTION)
    client = signed_in(supervisor)

    detail = client.get(f"/api/requisitions/{requisition.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert body["reference"] == requisition.reference
    assert body["status"] == Status.REJECTED
    assert body["details_withheld"] is True
    for field in ("facts", "justification", "procedure_number", "decision_reason", "windows"):
        assert field not in body
    assert _leaked(_json(detail)) == []

    listing = client.get("/api/requisitions/")
    assert listing.status_code == 200
    assert requisition.reference in _json(listing)
    assert _leaked(_json(listing)) == []


def test_supervisor_sees_a_rejected_requisition_from_its_signalement_without_its_details(
    requisition, signalement, magistrate, supervisor, signed_in
):
    _decide(requisition, magistrate, "reject", REJECTION)
    client = signed_in(supervisor)
    page = client.get(reverse("operations:signalement_detail", args=[signalement.number]))
    assert page.status_code == 200
    assert requisition.reference in page.content.decode()
    assert _leaked(page.content.decode()) == []
    api = client.get(f"/api/operations/signalements/{signalement.number}/requisitions/")
    assert api.status_code == 200
    assert [row["reference"] for row in api.json()] == [requisition.reference]
    assert _leaked(_json(api)) == []


def test_the_officer_and_the_magistrate_still_read_the_rejected_requisition(
    requisition, magistrate, opj, signed_in
):
    _decide(requisition, magistrate, "reject", REJECTION)
    for user in (opj, magistrate):
        body = signed_in(user).get(f"/api/requisitions/{requisition.pk}/").json()
        assert body["facts"] == FACTS and body["decision_reason"] == REJECTION


def test_supervisor_still_reads_an_approved_requisition_to_prepare_its_export(
    requisition, magistrate, supervisor, signed_in
):
    _decide(requisition, magistrate, "approve_all")
    client = signed_in(supervisor)
    page = client.get(reverse("evidence:requisition_detail", args=[requisition.pk]))
    assert FACTS in page.content.decode()
    body = client.get(f"/api/requisitions/{requisition.pk}/").json()
    assert body["facts"] == FACTS and body["windows"]


# --- the holds of a requisition the reader may not read ---------------------------------------


def _requisition_hold(requisition: Requisition) -> Hold:
    hold = Hold.objects.get(reference_type="evidence.requisition", reference_id=requisition.pk)
    assert PROCEDURE in hold.reason  # what there is to leak
    return hold


@pytest.mark.parametrize("reader", ["supervisor", "dpo"])
def test_holds_api_does_not_tell_a_pending_requisitions_details(
    requisition, reader, request, signed_in
):
    hold = _requisition_hold(requisition)
    client = signed_in(request.getfixturevalue(reader))

    listing = client.get("/api/holds/")
    assert listing.status_code == 200
    assert _leaked(_json(listing)) == []
    assert requisition.reference not in _json(listing)
    rows = {row["id"]: row for row in listing.json()["results"]}
    assert rows[hold.pk]["camera"] == "CAM-SEC1"  # the hold itself stays visible
    assert rows[hold.pk]["reference_withheld"] is True

    detail = client.get(f"/api/holds/{hold.pk}/")
    assert detail.status_code == 200
    assert _leaked(_json(detail)) == []
    assert requisition.reference not in _json(detail)
    assert detail.json()["reference_withheld"] is True


@pytest.mark.parametrize("reader", ["supervisor", "dpo"])
def test_hold_pages_do_not_tell_a_pending_requisitions_details(
    requisition, reader, request, signed_in
):
    hold = _requisition_hold(requisition)
    client = signed_in(request.getfixturevalue(reader))
    for url in (
        reverse("retention:hold_list"),
        reverse("retention:hold_detail", args=[hold.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        text = response.content.decode()
        assert "CAM-SEC1" in text
        assert requisition.reference not in text
        assert _leaked(text) == []


def test_a_supervisor_reads_the_hold_once_the_requisition_is_approved(
    requisition, magistrate, supervisor, signed_in
):
    hold = _requisition_hold(requisition)
    _decide(requisition, magistrate, "approve_all")
    client = signed_in(supervisor)
    body = client.get(f"/api/holds/{hold.pk}/").json()
    assert body["reference_withheld"] is False
    assert PROCEDURE in body["reason"] and body["reference_label"] == requisition.reference
    page = client.get(reverse("retention:hold_detail", args=[hold.pk])).content.decode()
    assert PROCEDURE in page
