"""Intake, bad input, holds on destroyed footage, the decision and its conflicts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from audit.models import AuditEvent
from evidence import services
from evidence.models import Requisition, Status
from recordings.models import DestructionRecord, PurgeRun
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import PDF, intake_payload, pdf_upload
from tests.evidence.factories import RequisitionFactory

pytestmark = pytest.mark.django_db


def _submit(client, camera_code, **extra):
    return client.post("/api/requisitions/", intake_payload(camera_code, **extra))


def _window(camera_code, start, end):
    return json.dumps([{"camera": camera_code, "start": start.isoformat(), "end": end.isoformat()}])


def _assert_refused(response, field, words):
    assert response.status_code == 400, response.content
    text = json.dumps(response.json()[field], ensure_ascii=False)
    assert words in text, text
    assert not Requisition.objects.exists()
    assert AuditEvent.objects.filter(action="requisition.refused_input").exists()


@pytest.mark.parametrize(
    ("window", "words"),
    [
        (lambda now: (now - timedelta(hours=1), now - timedelta(hours=2)), "précède son début"),
        (lambda now: (now - timedelta(hours=1), now + timedelta(hours=1)), "dans le futur"),
        (
            lambda now: (now - timedelta(hours=30), now - timedelta(hours=1)),
            "durée maximale de 24 h",
        ),
    ],
)
def test_bad_windows_are_refused_with_a_precise_message(opj, camera, signed_in, window, words):
    start, end = window(timezone.now())
    response = _submit(signed_in(opj), camera.code, windows=_window(camera.code, start, end))
    _assert_refused(response, "windows", words)


def test_unknown_and_unauthorized_cameras_are_refused(opj, signed_in):
    unauthorized = CameraFactory(code="CAM-SANS-ARRETE", authorization=None)
    end = timezone.now() - timedelta(hours=1)
    windows = json.dumps(
        [
            {
                "camera": "CAM-INCONNUE",
                "start": (end - timedelta(minutes=5)).isoformat(),
                "end": end.isoformat(),
            },
            {
                "camera": unauthorized.code,
                "start": (end - timedelta(minutes=5)).isoformat(),
                "end": end.isoformat(),
            },
        ]
    )
    response = _submit(signed_in(opj), "x", windows=windows)
    _assert_refused(response, "windows", "n'existe pas au registre")
    assert "aucune autorisation préfectorale" in json.dumps(response.json(), ensure_ascii=False)


def test_duplicate_procedure_number_from_the_same_service_is_refused(opj, camera, signed_in):
    client = signed_in(opj)
    assert _submit(client, camera.code).status_code == 201
    response = _submit(client, camera.code)
    assert response.status_code == 400
    assert "déjà déposé une réquisition pour la procédure" in response.json()["procedure_number"][0]
    assert Requisition.objects.count() == 1


def test_the_same_procedure_number_from_another_service_is_accepted(
    opj, opj_other_service, camera, signed_in
):
    assert _submit(signed_in(opj), camera.code).status_code == 201
    assert _submit(signed_in(opj_other_service), camera.code).status_code == 201


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("requisition.pdf", b"Ceci n'est pas un PDF, juste du texte.", "ni un PDF ni une image"),
        ("requisition.png", PDF, "ne correspond pas à son contenu"),
        ("requisition.pdf", b"%PDF-1.4\n" + b"0" * 100, "tronqué"),
    ],
)
def test_attachments_are_checked_by_content(opj, camera, signed_in, name, data, words):
    response = _submit(signed_in(opj), camera.code, attachment=pdf_upload(name, data))
    _assert_refused(response, "attachment", words)


def test_an_oversize_attachment_is_refused(opj, camera, signed_in, settings):
    settings.EVIDENCE_ATTACHMENT_MAX_BYTES = 1024
    big = b"%PDF-1.4\n" + b"0" * 4096 + b"\n%%EOF\n"
    response = _submit(signed_in(opj), camera.code, attachment=pdf_upload(data=big))
    _assert_refused(response, "attachment", "la limite est de")


def test_the_attachment_is_stored_encrypted_and_read_back(opj, magistrate, camera, signed_in):
    response = _submit(signed_in(opj), camera.code)
    requisition = Requisition.objects.get(pk=response.json()["id"])
    stored = default_storage.open(requisition.attachment_path, "rb").read()
    assert b"%PDF" not in stored
    page = signed_in(magistrate).get(f"/requisitions/{requisition.pk}/piece/")
    assert page.status_code == 200 and page.content == PDF
    assert AuditEvent.objects.filter(action="requisition.attachment_viewed").exists()


def test_a_destroyed_window_is_reported_with_its_destruction_date(opj, camera, signed_in):
    end = timezone.now() - timedelta(days=20)
    destroyed_at = timezone.now() - timedelta(days=4)
    run = PurgeRun.objects.create(
        job_id="purge",
        as_of=destroyed_at,
        started_at=destroyed_at,
        heartbeat_at=destroyed_at,
        state=PurgeRun.State.DONE,
    )
    DestructionRecord.objects.create(
        run=run,
        camera=camera,
        window_start=end - timedelta(hours=2),
        window_end=end,
        segment_count=120,
        bytes=10,
        digest="0" * 64,
        destroyed_at=destroyed_at,
    )
    response = _submit(
        signed_in(opj), camera.code, windows=_window(camera.code, end - timedelta(hours=1), end)
    )
    assert response.status_code == 201
    window = response.json()["windows"][0]
    assert window["held"] is False
    assert "détruites le" in window["unavailable"]
    assert window["destroyed_at"] is not None


def test_opj_cannot_see_other_services_requisitions(opj, opj_other_service, camera, signed_in):
    pk = _submit(signed_in(opj), camera.code).json()["id"]
    other = signed_in(opj_other_service)
    assert other.get(f"/api/requisitions/{pk}/").status_code == 404
    assert other.get("/api/requisitions/").json()["results"] == []
    assert other.get(f"/requisitions/{pk}/").status_code == 404


def test_magistrate_queue_puts_footage_expiring_first(opj, magistrate, signed_in):
    client = signed_in(opj)
    old = CameraFactory(retention_days=5)
    recent = CameraFactory(retention_days=15)
    end = timezone.now() - timedelta(hours=1)
    _submit(
        client,
        recent.code,
        procedure_number="P-1",
        windows=_window(recent.code, end - timedelta(minutes=5), end),
    )
    _submit(
        client,
        old.code,
        procedure_number="P-2",
        windows=_window(old.code, end - timedelta(minutes=5), end),
    )
    page = signed_in(magistrate).get("/requisitions/")
    queue = list(page.context["queue"])
    assert [r.procedure_number for r in queue] == ["P-2", "P-1"]


def test_partial_approval_and_rejection_need_their_inputs(opj, magistrate, camera, signed_in):
    pk = _submit(signed_in(opj), camera.code).json()["id"]
    judge = signed_in(magistrate)
    url = f"/api/requisitions/{pk}/decision/"
    response = judge.post(url, {"outcome": "reject"}, content_type="application/json")
    assert response.status_code == 400 and "Motivez le refus" in json.dumps(
        response.json(), ensure_ascii=False
    )
    response = judge.post(
        url, {"outcome": "approve_part", "windows": []}, content_type="application/json"
    )
    assert response.status_code == 400
    response = judge.post(
        url, {"outcome": "reject", "reason": "Disproportionné."}, content_type="application/json"
    )
    assert response.json()["status"] == "rejected"


def test_a_decision_on_a_finished_requisition_is_refused_and_leaves_no_history(
    opj, magistrate, camera, signed_in
):
    pk = _submit(signed_in(opj), camera.code).json()["id"]
    judge = signed_in(magistrate)
    url = f"/api/requisitions/{pk}/decision/"
    judge.post(url, {"outcome": "reject", "reason": "Non."}, content_type="application/json")
    response = judge.post(url, {"outcome": "approve_all"}, content_type="application/json")
    assert response.status_code == 400
    assert "ne peut plus faire l'objet d'une décision" in json.dumps(
        response.json(), ensure_ascii=False
    )
    assert not AuditEvent.objects.filter(action="requisition.decision_refused").exists()


def test_concurrent_decisions_one_wins_the_other_is_told(opj, magistrate, camera, signed_in):
    from tests.factories import UserFactory

    pk = _submit(signed_in(opj), camera.code).json()["id"]
    first = Requisition.objects.get(pk=pk)
    second = Requisition.objects.get(pk=pk)  # loaded before the first decision lands
    services.requisition_decide(
        requisition=first, outcome="approve_all", reason="", actor=magistrate
    )
    other_judge = UserFactory(role="magistrate")
    with pytest.raises(services.Conflict, match="Une autre décision a été enregistrée"):
        services.requisition_decide(
            requisition=second, outcome="reject", reason="Non.", actor=other_judge
        )
    first.refresh_from_db()
    assert first.status == Status.APPROVED and first.decided_by == magistrate
    assert not AuditEvent.objects.filter(action="requisition.rejected").exists()


def _hold_releases(requisition) -> list[str]:
    return [
        event.reason
        for event in AuditEvent.objects.filter(action="recording.hold_released").order_by("seq")
        if event.details["reference_id"] == str(requisition.pk)
    ]


def test_cancel_releases_the_holds_once_and_is_refused_after_decision(opj, magistrate, camera):
    requisition = RequisitionFactory(actor=opj, camera=camera)
    hold = requisition.windows.get().hold
    assert hold is not None and hold.released_at is None

    services.requisition_cancel(requisition=requisition, reason="Auteur identifié.", actor=opj)
    assert requisition.status == Status.CANCELLED
    hold.refresh_from_db()
    assert hold.released_at is not None
    assert hold.release_reason == f"Réquisition {requisition.reference} annulée"
    with pytest.raises(ValidationError, match="ne peut plus être annulée"):
        services.requisition_cancel(requisition=requisition, reason="", actor=opj)
    assert _hold_releases(requisition) == [hold.release_reason]  # released once

    decided = RequisitionFactory(actor=opj, camera=camera, approved_by=magistrate)
    with pytest.raises(ValidationError, match="ne peut plus être annulée"):
        services.requisition_cancel(requisition=decided, reason="", actor=opj)
    decided.refresh_from_db()
    assert decided.status == Status.APPROVED
    assert decided.windows.get().hold.released_at is None  # still frozen for the export
    assert _hold_releases(decided) == []


def test_undecided_requisitions_are_escalated_not_expired(opj, camera, settings):
    requisition = RequisitionFactory(actor=opj, camera=camera)
    later = timezone.now() + timedelta(days=settings.EVIDENCE_DECISION_DAYS + 1)
    assert services.requisitions_escalate_and_close(now=later) == (1, 0)
    requisition.refresh_from_db()
    assert requisition.status == Status.SUBMITTED and requisition.escalated_at == later
    assert requisition.windows.get().hold.released_at is None
    assert services.requisitions_escalate_and_close(now=later) == (0, 0)
