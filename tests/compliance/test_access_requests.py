"""Access requests: the hold in the same transaction, the answer from the register, refusals."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance import services, tasks
from compliance.models import AccessRequest, AccessRequestCamera, RefusalReason
from compliance.registers import REGISTERS, local
from evidence.models import Requisition
from recordings.models import Hold, Segment
from tests.cameras.factories import CameraFactory
from tests.compliance import factories
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db


def _create(camera, dpo, start, end, **extra):
    return services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X12345678",
        description="Manteau rouge, vélo bleu.",
        place="Place Saint-Léger",
        starts_at=start,
        ends_at=end,
        cameras=[camera],
        actor=dpo,
        **extra,
    )


def test_access_request_freezes_the_footage_at_intake(dpo):
    camera = CameraFactory(code="CAM-DA1")
    start = timezone.now() - timedelta(hours=2)
    record_segments(camera, start, 10)
    request = _create(camera, dpo, start + timedelta(minutes=2), start + timedelta(minutes=6))
    row = request.footage.get()
    assert row.hold is not None and row.hold.is_active()
    assert row.hold.basis == Hold.Basis.ACCESS_REQUEST
    assert row.hold.reference_id == str(request.pk)
    assert request.identity_document_ref == "5678"  # only the last four characters kept
    assert request.deadline.month != request.received_at.month or request.deadline.year > (
        request.received_at.year
    )
    event = AuditEvent.objects.get(action="access_request.received")
    assert event.details["cameras"][0]["hold"] == row.hold.pk


def test_a_failure_after_the_hold_rolls_back_request_and_hold(dpo, monkeypatch):
    camera = CameraFactory(code="CAM-DA2")
    start = timezone.now() - timedelta(hours=2)
    record_segments(camera, start, 10)

    def broken(action, **kwargs):
        if action == "access_request.received":
            raise RuntimeError("disk full")
        from audit.services import record

        return record(action, **kwargs)

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        _create(camera, dpo, start, start + timedelta(minutes=5))
    assert not AccessRequest.objects.exists()
    assert not Hold.objects.exists()
    assert not AuditEvent.objects.filter(action="recording.hold_placed").exists()


def test_answer_cites_the_destruction_date_when_footage_is_gone(dpo):
    camera = CameraFactory(code="CAM-DA3")
    destroyed_at = timezone.now() - timedelta(days=2)
    start = destroyed_at - timedelta(days=16)
    entry = factories.destruction(camera, destroyed_at, start=start)
    request = _create(camera, dpo, start + timedelta(minutes=5), start + timedelta(minutes=20))
    row = request.footage.get()
    assert row.hold is None and row.destruction == entry
    answered = services.access_request_answer_destroyed(request=request, actor=dpo)
    assert answered.outcome == AccessRequest.Outcome.DESTROYED
    assert answered.destroyed_at == entry.destroyed_at
    local = timezone.localtime(entry.destroyed_at).strftime("%d/%m/%Y %H:%M")
    assert local in answered.answer_text
    assert f"entrée n° {entry.pk}" in answered.answer_text
    event = AuditEvent.objects.get(action="access_request.answered")
    assert event.recipient == "Claire MARTIN"


def test_destroyed_answer_is_refused_while_footage_is_kept(dpo):
    camera = CameraFactory(code="CAM-DA4")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 5)
    request = _create(camera, dpo, start, start + timedelta(minutes=4))
    with pytest.raises(ValidationError, match="conservées"):
        services.access_request_answer_destroyed(request=request, actor=dpo)


def test_refusal_needs_a_reason_from_the_closed_list_and_keeps_the_hold(dpo):
    camera = CameraFactory(code="CAM-DA5")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 5)
    request = _create(camera, dpo, start, start + timedelta(minutes=4))
    with pytest.raises(ValidationError):
        services.access_request_refuse(request=request, reason="pas envie", actor=dpo)
    refused = services.access_request_refuse(
        request=request, reason=RefusalReason.INVESTIGATION, actor=dpo
    )
    assert refused.status == AccessRequest.Status.REFUSED
    assert "CNIL" in refused.answer_text
    assert Hold.objects.get().released_at is None
    with pytest.raises(ValidationError):
        services.access_request_answer_destroyed(request=refused, actor=dpo)


def test_extract_answer_needs_a_prepared_extract(dpo):
    camera = CameraFactory(code="CAM-DA6")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 5)
    request = _create(camera, dpo, start, start + timedelta(minutes=4))
    with pytest.raises(ValidationError, match="extrait"):
        services.access_request_answer_extract(request=request, actor=dpo)
    assert Segment.objects.filter(state="stored").count() == 5


def test_reminder_once_a_day_near_the_deadline(dpo, mailoutbox, settings):
    settings.COMPLIANCE_DPO_EMAIL = "dpo@example.org"
    camera = CameraFactory(code="CAM-DA7")
    received = timezone.now() - timedelta(days=27)
    factories.destruction(camera, timezone.now() - timedelta(days=1))
    request = _create(
        camera,
        dpo,
        received - timedelta(hours=3),
        received - timedelta(hours=2),
        received_at=received,
    )
    assert [r.pk for r in services.due_for_reminder()] == [request.pk]
    assert services.access_request_remind(request=request)
    assert not services.access_request_remind(request=request)
    assert services.due_for_reminder() == []
    assert len(mailoutbox) == 1 and request.reference in mailoutbox[0].subject
    assert AuditEvent.objects.filter(action="access_request.reminder").count() == 1


# --- The extract's validation, handover and destruction (metadata only, no video) -------------


def _prepared(request, agent, at):
    """An extract on record as the builder leaves it (its video is tested in test_extract_*)."""
    row = request.footage.get()
    AccessRequestCamera.objects.filter(pk=row.pk).update(
        keep_areas=[[[0.0, 0.0], [0.5, 0.0], [0.5, 0.4], [0.0, 0.4]]],
        extract_path="prepared.csuseg",
        extract_key_id=f"access-request/{request.pk}/{row.camera.code}",
        extract_key=b"wrapped",
        extract_sha256="ab" * 32,
        extract_size=1234,
        extract_frames=24,
        extract_built_at=at,
        extract_built_by=agent,
    )
    row.refresh_from_db()
    return row


def test_only_the_dpo_registers_validates_and_answers(dpo, supervisor):
    camera = CameraFactory(code="CAM-DA8")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 5)
    with pytest.raises(PermissionDenied):
        _create(camera, supervisor, start, start + timedelta(minutes=4))
    request = _create(camera, dpo, start, start + timedelta(minutes=4))
    row = _prepared(request, supervisor, timezone.now())
    with pytest.raises(PermissionDenied):
        services.extract_release(footage=row, actor=supervisor)
    with pytest.raises(PermissionDenied):
        services.access_request_refuse(
            request=request, reason=RefusalReason.INVESTIGATION, actor=supervisor
        )
    assert AccessRequest.objects.get().status == AccessRequest.Status.OPEN
    assert services.extract_release(footage=row, actor=dpo).extract_released_by == dpo


def test_extract_answer_needs_the_extract_handed_over(
    dpo, supervisor, django_capture_on_commit_callbacks
):
    camera = CameraFactory(code="CAM-DA9")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 5)
    request = _create(camera, dpo, start, start + timedelta(minutes=4))
    row = _prepared(request, supervisor, timezone.now())
    services.extract_release(footage=row, actor=dpo)
    with pytest.raises(ValidationError, match="remis au demandeur"):
        services.access_request_answer_extract(request=request, actor=dpo)
    row = services.extract_hand_over(footage=row, actor=supervisor)
    assert row.extract_handed_over_by == supervisor
    with django_capture_on_commit_callbacks(execute=True):
        answered = services.access_request_answer_extract(request=request, actor=dpo)
    assert "ab" * 32 in answered.answer_text
    row.refresh_from_db()
    assert row.extract_state == "destroyed"
    assert (row.extract_path, row.extract_key, row.extract_key_id) == ("", None, "")
    # The fingerprint of what was handed over stays, for the answer and the registers.
    assert row.extract_sha256 == "ab" * 32
    event = AuditEvent.objects.get(action="access_request.extract_destroyed")
    assert event.details["key_id"] == f"access-request/{request.pk}/CAM-DA9"
    assert event.details["handed_over_at"] is not None


def test_extract_entries_join_the_registers_in_date_order(dpo, supervisor, clock):
    camera = CameraFactory(code="CAM-DA10")
    base = timezone.now() - timedelta(days=3)
    record_segments(camera, base, 5)
    request = _create(camera, dpo, base, base + timedelta(minutes=4))
    row = _prepared(request, supervisor, base + timedelta(hours=1))
    # An export before and one after the extract's preparation.
    factories.export("P-REG-1", base + timedelta(minutes=30), supervisor)
    factories.export("P-REG-2", base + timedelta(hours=2), supervisor)
    with clock(base + timedelta(hours=3)):
        services.extract_release(footage=row, actor=dpo)
    with clock(base + timedelta(hours=4)):
        services.extract_hand_over(footage=row, actor=supervisor)
    with clock(base + timedelta(hours=5)):
        services.access_request_refuse(
            request=request, reason=RefusalReason.THIRD_PARTIES, actor=dpo
        )

    extractions = REGISTERS["extractions"].rows(None, None)
    assert [line[1] for line in extractions] == [
        Requisition.objects.get(procedure_number="P-REG-1").reference,
        request.reference,
        Requisition.objects.get(procedure_number="P-REG-2").reference,
    ]
    assert extractions[1][5:] == [
        supervisor.username,
        dpo.username,
        local(base + timedelta(hours=3)),
        "1",
        "ab" * 32,
        # An access request's extract serves the right of access, not a purpose of L251-2.
        "Droit d'accès de la personne filmée (RGPD art. 15, loi Informatique et Libertés "
        "art. 104 et suivants)",
    ]
    handovers = REGISTERS["remises"].rows(None, None)
    assert handovers == [
        [
            local(base + timedelta(hours=4)),
            request.reference,
            "",
            f"Claire MARTIN (remis par {supervisor.username})",
            "",
            dpo.username,
            local(base + timedelta(hours=3)),
            "ab" * 32,
            "",  # no procès-verbal de remise: the extract is handed over in person
            "",
        ]
    ]
    destructions = REGISTERS["destructions"].rows(base + timedelta(hours=5), None)
    assert destructions == [
        [
            local(base + timedelta(hours=5)),
            f"CAM-DA10 (extrait {request.reference})",
            local(request.starts_at),
            local(request.ends_at),
            "",
            "1234",
            "1",
            "ab" * 32,
        ]
    ]


def test_the_sweep_destroys_what_answered_requests_left_and_orphan_files(
    dpo, supervisor, django_capture_on_commit_callbacks
):
    camera = CameraFactory(code="CAM-DA11")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 5)
    request = _create(camera, dpo, start, start + timedelta(minutes=4))
    folder = services.extract_folder()
    (folder / "prepared.csuseg").write_bytes(b"ciphertext")
    _prepared(request, supervisor, timezone.now())
    # Answered before the answer destroyed extracts: the row still holds its file and key.
    AccessRequest.objects.filter(pk=request.pk).update(
        status=AccessRequest.Status.REFUSED,
        outcome=AccessRequest.Outcome.REFUSED,
        refusal_reason=RefusalReason.THIRD_PARTIES,
        answered_at=timezone.now(),
    )
    old = (timezone.now() - timedelta(days=2)).timestamp()
    (folder / "killed-build.csuseg").write_bytes(b"partial")
    os.utime(folder / "killed-build.csuseg", (old, old))
    (folder / "build-in-progress.csuseg").write_bytes(b"partial")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_access_request_extracts() == {"destroyed": 1, "files_deleted": 1}
    row = request.footage.get()
    assert row.extract_state == "destroyed" and row.extract_key is None
    assert sorted(path.name for path in folder.iterdir()) == ["build-in-progress.csuseg"]
    assert AuditEvent.objects.get(action="access_request.extract_destroyed").actor_name
    orphans = AuditEvent.objects.get(action="access_request.extract_orphans_deleted")
    assert orphans.details == {"files": ["killed-build.csuseg"], "bytes": len(b"partial")}
    # The register of derived files shows both: the extract and the file of the killed build.
    kinds = [row[1] for row in REGISTERS["fichiers-derives"].rows(None, None)]
    assert kinds == ["Extrait de demande d'accès", "Fichier temporaire"]
    # Run again: nothing left to do.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_access_request_extracts() == {"destroyed": 0, "files_deleted": 0}
