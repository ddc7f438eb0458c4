"""Signalements ↔ requisitions: named at intake, linked and unlinked later, shown on both sides,
and the requisitions waiting for the room on the dashboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from evidence import services as evidence_services
from evidence.models import Export, Requisition, Status
from operations.models import Category, RequisitionLink
from operations.services import signalement_create
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import intake_payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def camera(db):
    return CameraFactory(code="CAM-OPS-REQ", name="Place Saint-Léger")


@pytest.fixture
def two_signalements(operator):
    return [
        signalement_create(
            actor=operator,
            category=Category.CRIME,
            occurred_at=timezone.now() - timedelta(hours=1),
            location=place,
            description="Vol à l'arraché.",
        )
        for place in ("Place Saint-Léger", "Rue de Boigne")
    ]


def _submit(client, camera, **extra):
    return client.post("/api/requisitions/", intake_payload(camera.code, **extra))


def _approve(requisition, magistrate):
    return evidence_services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )


def test_officer_names_signalements_at_intake_and_both_sides_show_the_link(
    opj, operator, supervisor, magistrate, camera, two_signalements, signed_in
):
    numbers = [s.number for s in two_signalements]
    response = _submit(signed_in(opj), camera, signalements=numbers)
    assert response.status_code == 201, response.content
    requisition = Requisition.objects.get()
    assert sorted(RequisitionLink.objects.values_list("signalement__seq", flat=True)) == sorted(
        s.seq for s in two_signalements
    )
    linked = AuditEvent.objects.filter(
        action="requisition.signalement_linked", target_id=str(requisition.pk)
    )
    assert sorted(e.details["signalement"] for e in linked) == sorted(numbers)

    # The officer sees the numbers on the requisition, but no link into the room's log.
    page = signed_in(opj).get(f"/requisitions/{requisition.pk}/").content.decode()
    assert numbers[0] in page and "/exploitation/signalements/" not in page
    assert "Réquisition liée à un signalement" in page  # on the timeline

    # Before the decision the supervisor may not see the requisition; after it, both ways.
    detail = f"/exploitation/signalements/{numbers[0]}/"
    assert requisition.reference not in signed_in(supervisor).get(detail).content.decode()
    _approve(requisition, magistrate)
    assert requisition.reference in signed_in(supervisor).get(detail).content.decode()
    page = signed_in(supervisor).get(f"/requisitions/{requisition.pk}/").content.decode()
    assert f'href="/exploitation/signalements/{numbers[1]}/"' in page
    # An operator never sees requisitions.
    assert requisition.reference not in signed_in(operator).get(detail).content.decode()
    api = signed_in(supervisor).get(f"/api/operations/signalements/{numbers[0]}/requisitions/")
    assert [r["reference"] for r in api.json()] == [requisition.reference]
    assert signed_in(operator).get(api.wsgi_request.path).json() == []


def test_unknown_or_malformed_signalement_number_refuses_the_intake(opj, camera, signed_in):
    year = timezone.localdate().year
    response = _submit(signed_in(opj), camera, signalements=[f"{year}-999", "hier"])
    assert response.status_code == 400
    assert response.json()["signalements"] == [
        f"Numéro de signalement mal écrit : « hier » (attendu : année-numéro, ex. {year}-000123).",
        f"Aucun signalement ne porte le numéro {year}-000999.",
    ]
    assert not Requisition.objects.exists()
    refused = AuditEvent.objects.get(action="requisition.refused_input")
    assert refused.details["fields"] == ["signalements"]


def test_intake_form_shows_the_signalement_error_on_its_field(opj, camera, signed_in):
    end = timezone.localtime() - timedelta(minutes=5)
    data = intake_payload(camera.code)
    data.pop("windows")
    data.update(
        {
            "signalements": "2020-000001",
            "w-TOTAL_FORMS": "1",
            "w-INITIAL_FORMS": "0",
            "w-0-camera": camera.code,
            "w-0-starts_at": (end - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"),
            "w-0-ends_at": end.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )
    page = signed_in(opj).post("/requisitions/nouvelle/", data)
    assert page.status_code == 200
    assert "Aucun signalement ne porte le numéro 2020-000001." in page.content.decode()
    assert not Requisition.objects.exists()


def test_supervisor_links_and_unlinks_from_the_signalement_page(
    opj, supervisor, magistrate, camera, two_signalements, signed_in
):
    assert _submit(signed_in(opj), camera).status_code == 201
    requisition = _approve(Requisition.objects.get(), magistrate)
    number = two_signalements[0].number
    client = signed_in(supervisor)
    url = f"/exploitation/signalements/{number}/"

    refused = client.post(url, {"action": "link", "requisition": "REQ-1999-00001"})
    assert refused.status_code == 200
    assert (
        "Aucune réquisition REQ-1999-00001 parmi celles que vous pouvez consulter."
        in refused.content.decode()
    )

    assert (
        client.post(url, {"action": "link", "requisition": requisition.reference}).status_code
        == 302
    )
    assert RequisitionLink.objects.filter(requisition=requisition).count() == 1
    # Linking twice changes nothing and writes nothing more.
    client.post(url, {"action": "link", "requisition": requisition.reference})
    assert AuditEvent.objects.filter(action="requisition.signalement_linked").count() == 1

    assert client.post(url, {"action": "unlink", "requisition": requisition.pk}).status_code == 302
    assert not RequisitionLink.objects.exists()
    unlinked = AuditEvent.objects.get(action="requisition.signalement_unlinked")
    assert unlinked.target_id == str(requisition.pk)
    assert unlinked.details["signalement"] == number


def test_api_links_refuse_unknown_numbers_and_other_services(
    opj, opj_other_service, magistrate, camera, two_signalements, signed_in
):
    assert _submit(signed_in(opj), camera).status_code == 201
    requisition = Requisition.objects.get()
    url = f"/api/operations/requisitions/{requisition.pk}/signalements/"
    client = signed_in(opj)

    bad = client.post(url, {"signalements": ["2020-000042"]}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json() == {"signalements": ["Aucun signalement ne porte le numéro 2020-000042."]}
    empty = client.post(url, {"signalements": []}, content_type="application/json")
    assert empty.status_code == 400
    assert empty.json() == {"signalements": ["Indiquez au moins un numéro de signalement."]}

    numbers = [s.number for s in two_signalements]
    ok = client.post(url, {"signalements": numbers}, content_type="application/json")
    assert ok.status_code == 201 and ok.json() == numbers
    assert signed_in(magistrate).get(url).json() == numbers
    assert signed_in(opj_other_service).get(url).status_code == 404
    other = signed_in(opj_other_service).post(
        url, {"signalements": numbers}, content_type="application/json"
    )
    assert other.status_code == 404
    assert (
        signed_in(magistrate)
        .post(url, {"signalements": numbers}, content_type="application/json")
        .status_code
        == 403
    )

    gone = client.delete(f"{url}{numbers[0]}/")
    assert gone.status_code == 204
    assert client.get(url).json() == numbers[1:]
    again = client.delete(f"{url}{numbers[0]}/")
    assert again.status_code == 400
    assert again.json() == {
        "detail": [
            f"Le signalement {numbers[0]} n'est pas lié à la réquisition {requisition.reference}."
        ]
    }


def test_dashboard_lists_requisitions_waiting_for_the_room_oldest_first(
    opj, operator, supervisor, magistrate, camera, signed_in
):
    client = signed_in(opj)
    for n in range(4):
        assert _submit(client, camera, procedure_number=f"2026/{n}").status_code == 201
    first, second, third, pending = Requisition.objects.order_by("pk")
    now = timezone.now()
    for requisition in (first, second, third):
        _approve(requisition, magistrate)
    # The first was decided last; the second's extraction is ready and waits for release;
    # the third's is released (the officer's turn, not the room's).
    Requisition.objects.filter(pk=first.pk).update(decided_at=now - timedelta(hours=1))
    Requisition.objects.filter(pk=second.pk).update(
        status=Status.READY, decided_at=now - timedelta(hours=5)
    )
    Export.objects.create(
        requisition=second,
        state=Export.State.READY,
        prepared_by=supervisor,
        finished_at=now - timedelta(hours=3),
    )
    Requisition.objects.filter(pk=third.pk).update(status=Status.READY)
    Export.objects.create(
        requisition=third,
        state=Export.State.READY,
        prepared_by=supervisor,
        finished_at=now - timedelta(hours=4),
        released_at=now - timedelta(hours=2),
        released_by=supervisor,
    )

    part = signed_in(supervisor).get("/exploitation/tableau/requisitions/").content.decode()
    assert "À extraire : <strong>1</strong>" in part
    assert "Extraction prête, à vérifier et libérer : <strong>1</strong>" in part
    listed = re.findall(r'<a href="/requisitions/\d+/">([^<]+)</a>', part)
    assert listed == [
        second.reference,  # waiting since its extraction was ready, 3 h ago
        first.reference,  # decided 1 h ago
    ]
    assert pending.reference not in part
    page = signed_in(supervisor).get("/exploitation/").content.decode()
    assert first.reference in page and second.reference in page

    # Operators are told how many wait, never which.
    part = signed_in(operator).get("/exploitation/tableau/requisitions/").content.decode()
    assert "À extraire : <strong>1</strong>" in part
    assert "Extraction prête, à vérifier et libérer : <strong>1</strong>" in part
    assert "<table>" not in part and first.reference not in part
    assert first.reference not in signed_in(operator).get("/exploitation/").content.decode()
