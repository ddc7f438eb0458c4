"""Access requests: the hold in the same transaction, the answer from the register, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance import services
from compliance.models import AccessRequest, RefusalReason
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
