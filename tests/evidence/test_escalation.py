"""An undecided requisition is never expired: it is escalated and its footage stays held."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from evidence import services
from evidence.models import Status
from recordings import purge
from recordings.models import Segment
from tests.cameras.factories import CameraFactory
from tests.evidence.factories import RequisitionFactory
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture
def footage():
    """A 15-day camera's footage of the hour that ended an hour ago (the factory's window)."""
    camera = CameraFactory(code="CAM-ESC", retention_days=15)
    start = timezone.now() - timedelta(hours=2)
    return camera, record_segments(camera, start, 60)


@pytest.fixture
def mailed(settings, magistrate, supervisor, opj):
    settings.EMAIL_HOST = "smtp.mairie.example"
    magistrate.email = "magistrat@justice.example"
    supervisor.email = "chef@mairie.example"
    opj.email = "opj@interieur.example"
    for person in (magistrate, supervisor, opj):
        person.save(update_fields=["email"])
    return magistrate, supervisor


def _run(at, capture):
    with capture(execute=True):
        return services.requisitions_escalate_and_close(now=at)


def _held(segments) -> bool:
    return {Segment.objects.get(pk=s.pk).state for s in segments} == {Segment.State.STORED}


def test_an_undecided_requisition_keeps_its_hold_past_30_days_and_its_people_get_reminders(
    opj, footage, mailed, settings, django_capture_on_commit_callbacks
):
    settings.EVIDENCE_DECISION_DAYS = 30
    settings.EVIDENCE_REMINDER_DAYS = 7
    magistrate, supervisor = mailed
    camera, segments = footage
    requisition = RequisitionFactory(actor=opj, camera=camera)
    hold = requisition.windows.get().hold
    now = timezone.now()

    assert _run(now + timedelta(days=29), django_capture_on_commit_callbacks) == (0, 0)
    assert mail.outbox == []

    # Past the deadline: escalated once, to the magistrates and the supervisors, still held.
    day31 = now + timedelta(days=31)
    assert _run(day31, django_capture_on_commit_callbacks) == (1, 0)
    requisition.refresh_from_db()
    hold.refresh_from_db()
    assert requisition.status == Status.SUBMITTED
    assert requisition.escalated_at == requisition.reminded_at == day31
    assert hold.released_at is None and hold.is_active(day31)
    assert sorted(m.to[0] for m in mail.outbox) == [supervisor.email, magistrate.email]
    to_magistrate = next(m for m in mail.outbox if m.to == [magistrate.email])
    to_supervisor = next(m for m in mail.outbox if m.to == [supervisor.email])
    assert requisition.reference in to_magistrate.subject
    assert "aucune décision dans le délai" in to_magistrate.subject
    assert f"/requisitions/{requisition.pk}/" in to_magistrate.body
    assert "restent gelées" in to_supervisor.body
    # Nothing of the procedure goes out, least of all to the supervisors.
    for message in mail.outbox:
        assert requisition.procedure_number not in message.body + message.subject
        assert requisition.facts not in message.body
    assert "Décider" not in to_supervisor.body
    escalated = AuditEvent.objects.get(action="requisition.escalated")
    assert escalated.target_id == str(requisition.pk)

    # The purge, long past the camera's 15 days, keeps the footage.
    purge.purge_run(now=now + timedelta(days=40))
    assert _held(segments)

    # No reminder before the interval; one after it; then one per interval.
    mail.outbox.clear()
    assert _run(now + timedelta(days=35), django_capture_on_commit_callbacks) == (0, 0)
    assert mail.outbox == []
    assert _run(now + timedelta(days=38, hours=1), django_capture_on_commit_callbacks) == (1, 0)
    assert len(mail.outbox) == 2 and all("Rappel" in m.subject for m in mail.outbox)
    assert _run(now + timedelta(days=40), django_capture_on_commit_callbacks) == (0, 0)
    assert _run(now + timedelta(days=45, hours=2), django_capture_on_commit_callbacks) == (1, 0)
    assert AuditEvent.objects.filter(action="requisition.reminded").count() == 2
    assert AuditEvent.objects.filter(action="requisition.escalated").count() == 1
    requisition.refresh_from_db()
    assert requisition.status == Status.SUBMITTED
    assert not AuditEvent.objects.filter(action="recording.hold_released").exists()

    # Decided at last: no more reminders; rejected, its holds are released.
    services.requisition_decide(
        requisition=requisition, outcome="reject", reason="Hors délai utile.", actor=magistrate
    )
    mail.outbox.clear()
    assert _run(now + timedelta(days=60), django_capture_on_commit_callbacks) == (0, 0)
    assert not any("Rappel" in m.subject for m in mail.outbox)
    hold.refresh_from_db()
    assert hold.released_at is not None


def test_the_holds_of_an_undecided_requisition_are_renewed_before_they_end(
    opj, footage, settings, django_capture_on_commit_callbacks
):
    settings.EVIDENCE_HOLD_DAYS = 30
    settings.EVIDENCE_DECISION_DAYS = 30
    camera, segments = footage
    requisition = RequisitionFactory(actor=opj, camera=camera)
    hold = requisition.windows.get().hold
    now = timezone.now()
    first_end = hold.expires_at

    # Not yet near its end: untouched.
    _run(now + timedelta(days=10), django_capture_on_commit_callbacks)
    hold.refresh_from_db()
    assert hold.expires_at == first_end

    day25 = now + timedelta(days=25)
    _run(day25, django_capture_on_commit_callbacks)
    hold.refresh_from_db()
    assert hold.expires_at == day25 + timedelta(days=30)
    renewal = hold.renewals.get()
    assert renewal.previous_expires_at == first_end
    assert requisition.reference in renewal.justification
    event = AuditEvent.objects.get(action="recording.hold_renewed")
    assert event.details["reference_id"] == str(requisition.pk)
    # Past the hold's first end, long past the camera's retention, the footage is still kept.
    purge.purge_run(now=now + timedelta(days=50))
    assert _held(segments)


def test_a_cancelled_requisition_after_escalation_releases_its_holds(
    opj, footage, settings, django_capture_on_commit_callbacks
):
    camera, segments = footage
    requisition = RequisitionFactory(actor=opj, camera=camera)
    now = timezone.now()
    _run(
        now + timedelta(days=settings.EVIDENCE_DECISION_DAYS + 1),
        django_capture_on_commit_callbacks,
    )
    services.requisition_cancel(requisition=requisition, reason="Affaire élucidée", actor=opj)
    requisition.refresh_from_db()
    assert requisition.status == Status.CANCELLED
    assert requisition.windows.get().hold.released_at is not None
    purge.purge_run(now=now + timedelta(days=40))
    assert {Segment.objects.get(pk=s.pk).state for s in segments} == {Segment.State.DESTROYED}


def test_without_a_mail_server_the_escalation_is_still_recorded(
    opj, footage, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_HOST = ""
    camera, _ = footage
    requisition = RequisitionFactory(actor=opj, camera=camera)
    later = timezone.now() + timedelta(days=settings.EVIDENCE_DECISION_DAYS + 1)
    assert _run(later, django_capture_on_commit_callbacks) == (1, 0)
    assert mail.outbox == []
    assert AuditEvent.objects.filter(
        action="requisition.escalated", target_id=str(requisition.pk)
    ).exists()
