"""The alarm queue: each source raises its alarm, repeats fold, a cleared cause closes itself,
people acknowledge (with a comment) and close, and every such act is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from audit.signals import report_integrity_failure
from cameras import services as camera_services
from cameras.models import CameraStatus, HealthStatus
from evidence.models import Export
from operations import alarms, services
from operations.alarms import alarm_scan
from operations.models import Alarm, AlarmKind, AlarmPriority, AlarmState
from recordings.models import RecorderLease
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.evidence.factories import RequisitionFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    settings.ALARM_CLEAR_MINUTES = 5


def _recorded(camera, now):
    """A camera whose recorder is writing (no recording alarm)."""
    RecorderLease.objects.create(
        camera=camera,
        state=RecorderLease.State.RECORDING,
        holder="recorder-1",
        acquired_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(minutes=5),
        last_segment_at=now,
    )


def _alarms(kind):
    return list(Alarm.objects.filter(kind=kind).order_by("pk"))


def _set_health(camera, status):
    camera.health_status = status
    camera.save(update_fields=["health_status"])


def test_camera_outage_raises_an_urgent_alarm_that_folds_and_closes_itself():
    now = timezone.now()
    camera = CameraFactory(code="CAM-GARE-01", health_status=HealthStatus.UNREACHABLE)

    alarm_scan(now=now)
    alarm_scan(now=now + timedelta(minutes=1))  # still down: the same occurrence

    (alarm,) = _alarms(AlarmKind.CAMERA_HEALTH)
    assert alarm.priority == AlarmPriority.URGENT and alarm.state == AlarmState.NEW
    assert alarm.camera == camera and "CAM-GARE-01" in alarm.title
    assert "injoignable" in alarm.title
    assert alarm.count == 1 and alarm.last_seen_at == now + timedelta(minutes=1)

    # Back for a minute, then down again: a second occurrence of the same alarm.
    _set_health(camera, HealthStatus.OK)
    alarm_scan(now=now + timedelta(minutes=2))
    alarm.refresh_from_db()
    assert alarm.is_open and alarm.cleared_at == now + timedelta(minutes=2)
    _set_health(camera, HealthStatus.FROZEN)
    alarm_scan(now=now + timedelta(minutes=3))
    alarm.refresh_from_db()
    assert alarm.count == 2 and alarm.cleared_at is None
    assert alarm.priority == AlarmPriority.HIGH  # frozen is less urgent than unreachable

    # Back for longer than ALARM_CLEAR_MINUTES: closed by the system, not by a person.
    _set_health(camera, HealthStatus.OK)
    alarm_scan(now=now + timedelta(minutes=4))
    alarm_scan(now=now + timedelta(minutes=8))
    alarm.refresh_from_db()
    assert alarm.is_open
    alarm_scan(now=now + timedelta(minutes=9))
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLOSED and alarm.closed_by_system
    assert alarm.closed_by is None and alarm.closed_at == now + timedelta(minutes=9)
    event = AuditEvent.objects.get(action="alarm.closed_by_system")
    assert event.details["alarms"] == [alarm.pk] and event.actor_id is None
    assert event.actor_name == "file des alarmes"
    assert event.reason == "Cause disparue depuis 5 minutes."

    # Once closed, a new outage opens a new alarm.
    _set_health(camera, HealthStatus.BLACK)
    alarm_scan(now=now + timedelta(minutes=10))
    old, new = _alarms(AlarmKind.CAMERA_HEALTH)
    assert old.pk == alarm.pk and new.is_open and new.count == 1


def test_cameras_in_good_health_or_out_of_service_raise_no_health_alarm():
    CameraFactory(health_status=HealthStatus.OK)
    CameraFactory(health_status=HealthStatus.UNKNOWN)
    CameraFactory(health_status=HealthStatus.BLACK, status=CameraStatus.MAINTENANCE)
    alarm_scan()
    assert _alarms(AlarmKind.CAMERA_HEALTH) == []


def test_a_camera_not_recorded_raises_a_recording_alarm():
    now = timezone.now()
    silent = CameraFactory(code="CAM-SILENCE")
    _recorded(CameraFactory(code="CAM-ENREGISTREE"), now)

    alarm_scan(now=now)

    (alarm,) = _alarms(AlarmKind.RECORDING)
    assert alarm.camera == silent and alarm.priority == AlarmPriority.HIGH
    assert (
        alarm.title
        == "Caméra CAM-SILENCE non enregistrée : aucun enregistreur ne la prend en charge"
    )


def test_an_authorization_near_its_end_raises_an_alarm_until_its_alert_is_acknowledged(
    supervisor,
):
    authorization = AuthorizationFactory(
        number="73-2021-DSC-0042",
        expires_on=timezone.localdate() + timedelta(days=20),
    )
    _recorded(CameraFactory(code="CAM-MAIRIE", authorization=authorization), timezone.now())
    assert camera_services.authorization_record_alert(authorization_id=authorization.pk)

    alarm_scan()
    (alarm,) = _alarms(AlarmKind.AUTHORIZATION)
    assert alarm.priority == AlarmPriority.HIGH
    assert "73-2021-DSC-0042" in alarm.title and "CAM-MAIRIE" in alarm.detail

    expiry_alert = authorization.expiry_alerts.get()
    camera_services.authorization_alert_acknowledge(
        alert=expiry_alert, note="Renouvellement demandé en préfecture.", actor=supervisor
    )
    alarm_scan()
    alarm.refresh_from_db()
    assert alarm.cleared_at is not None


def test_a_stalled_extraction_raises_an_alarm(supervisor, magistrate):
    now = timezone.now()
    requisition = RequisitionFactory(approved_by=magistrate)
    Export.objects.create(
        requisition=requisition,
        prepared_by=supervisor,
        state=Export.State.RUNNING,
        started_at=now - timedelta(hours=5),
    )
    alarm_scan(now=now)
    (alarm,) = _alarms(AlarmKind.EXPORT)
    assert alarm.priority == AlarmPriority.HIGH
    assert requisition.reference in alarm.title and "bloquée" in alarm.title


def test_a_recent_extraction_in_progress_raises_no_alarm(supervisor, magistrate):
    requisition = RequisitionFactory(approved_by=magistrate)
    Export.objects.create(
        requisition=requisition,
        prepared_by=supervisor,
        state=Export.State.RUNNING,
        started_at=timezone.now() - timedelta(minutes=10),
    )
    alarm_scan()
    assert _alarms(AlarmKind.EXPORT) == []


def test_an_undecided_requisition_near_its_deadline_raises_an_alarm(settings):
    settings.EVIDENCE_DECISION_DAYS = 30
    settings.ALARM_REQUISITION_DAYS = 3
    requisition = RequisitionFactory()
    submitted = requisition.submitted_at

    alarm_scan(now=submitted + timedelta(days=20))
    assert _alarms(AlarmKind.REQUISITION) == []

    alarm_scan(now=submitted + timedelta(days=28))
    (alarm,) = _alarms(AlarmKind.REQUISITION)
    assert alarm.priority == AlarmPriority.NORMAL
    assert alarm.title.startswith(f"Réquisition {requisition.reference} : décision attendue")

    alarm_scan(now=submitted + timedelta(days=31))
    alarm.refresh_from_db()
    assert alarm.priority == AlarmPriority.HIGH and "délai dépassé" in alarm.title
    assert alarm.count == 1


def test_integrity_failures_fold_by_cause_and_stay_until_a_person_closes_them(operator):
    now = timezone.now()
    for minutes in (0, 1, 2):
        report_integrity_failure(
            key="audit.chain:41",
            detector="audit.chain_broken",
            summary="Événement #41 : empreinte incorrecte.",
            details={},
            at=now + timedelta(minutes=minutes),
        )
    report_integrity_failure(
        key="segment:7",
        detector="recording.integrity_failed",
        summary="Segment 7 : étiquette d'authentification invalide.",
        details={},
        at=now,
    )
    chain, segment = _alarms(AlarmKind.INTEGRITY)
    assert chain.count == 3 and chain.priority == AlarmPriority.URGENT
    assert chain.title == "Journal d'audit : chaîne rompue"
    assert chain.last_seen_at == now + timedelta(minutes=2)
    assert segment.count == 1 and segment.title.startswith("Enregistrement altéré")

    alarm_scan(now=now + timedelta(hours=1))  # not a state the scan follows: stays open
    chain.refresh_from_db()
    assert chain.is_open and chain.cleared_at is None

    services.alarm_close(alarm=chain, actor=operator)
    report_integrity_failure(
        key="audit.chain:41", detector="audit.chain_broken", summary="", details={}, at=now
    )
    assert len(_alarms(AlarmKind.INTEGRITY)) == 3


def test_acknowledging_needs_a_comment_and_is_audited(operator):
    alarm = Alarm.objects.create(
        kind=AlarmKind.CAMERA_HEALTH,
        cause_key="camera_health:1",
        priority=AlarmPriority.URGENT,
        title="Caméra CAM-01 (Gare) : injoignable",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    with pytest.raises(ValidationError) as refused:
        services.alarm_acknowledge(alarm=alarm, comment="   ", actor=operator)
    assert "comment" in refused.value.message_dict
    assert not AuditEvent.objects.filter(action="alarm.acknowledged").exists()

    services.alarm_acknowledge(alarm=alarm, comment="Technicien appelé.", actor=operator)
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == operator
    assert alarm.acknowledgement == "Technicien appelé."
    event = AuditEvent.objects.get(action="alarm.acknowledged")
    assert event.reason == "Technicien appelé." and event.target_id == str(alarm.pk)

    with pytest.raises(ValidationError):
        services.alarm_acknowledge(alarm=alarm, comment="Encore.", actor=operator)

    services.alarm_close(alarm=alarm, actor=operator, comment="Caméra revenue.")
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLOSED and alarm.closed_by == operator
    assert not alarm.closed_by_system
    assert AuditEvent.objects.get(action="alarm.closed").reason == "Caméra revenue."
    with pytest.raises(ValidationError):
        services.alarm_close(alarm=alarm, actor=operator)
    with pytest.raises(ValidationError):
        services.alarm_acknowledge(alarm=alarm, comment="Trop tard.", actor=operator)


def test_an_acknowledged_alarm_still_folds_new_occurrences():
    now = timezone.now()
    camera = CameraFactory(health_status=HealthStatus.BLACK)
    alarm_scan(now=now)
    alarm = _alarms(AlarmKind.CAMERA_HEALTH)[0]
    Alarm.objects.filter(pk=alarm.pk).update(
        state=AlarmState.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=UserFactory(),
        acknowledgement="Vu.",
    )
    _set_health(camera, HealthStatus.OK)
    alarm_scan(now=now + timedelta(minutes=1))
    _set_health(camera, HealthStatus.BLACK)
    alarm_scan(now=now + timedelta(minutes=2))
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.count == 2


def test_the_scan_runs_every_minute_from_the_beat_schedule():
    from csu.celery import app
    from operations.tasks import scan_alarms

    entry = app.conf.beat_schedule["operations-scan-alarms"]
    assert entry["task"] == scan_alarms.name == "operations.tasks.scan_alarms"
    assert entry["schedule"] == 60.0 and entry["options"]["expires"] < entry["schedule"]
    CameraFactory(health_status=HealthStatus.UNREACHABLE)
    assert scan_alarms()["raised"] == 2  # its health, and its recording
    assert Alarm.objects.filter(kind=AlarmKind.CAMERA_HEALTH).count() == 1


def test_a_failing_source_leaves_the_others_and_its_own_alarms_alone(monkeypatch, caplog):
    now = timezone.now()
    CameraFactory(health_status=HealthStatus.UNREACHABLE)
    alarm_scan(now=now)
    (health,) = _alarms(AlarmKind.CAMERA_HEALTH)

    def broken(now):
        raise RuntimeError("base des caméras indisponible")

    monkeypatch.setitem(alarms.SOURCES, AlarmKind.CAMERA_HEALTH, broken)
    Alarm.objects.filter(kind=AlarmKind.RECORDING).delete()
    result = alarm_scan(now=now + timedelta(minutes=30))

    assert result.failed == [AlarmKind.CAMERA_HEALTH]
    assert "alarm source camera_health failed" in caplog.text
    health.refresh_from_db()
    assert health.is_open and health.cleared_at is None  # not taken for a cleared cause
    assert len(_alarms(AlarmKind.RECORDING)) == 1  # the other sources were read
