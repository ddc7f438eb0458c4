"""No recording without a prefectoral authorization in force (CSI L252-1, L254-1)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connections
from django.utils import timezone

from audit.models import AuditEvent
from cameras import services
from cameras.models import Camera, CameraStatus
from cameras.services import recording_authorizations_sync
from operations.demo import generate_year
from recordings import remux, tasks
from recordings.models import RecorderLease
from recordings.recorder import run_recorder
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.recordings.media import h264_clip

STOPPED = "camera.recording_stopped_unauthorized"
RESUMED = "camera.recording_resumed"


def _events(camera: Camera, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action=action, target_id=str(camera.pk)).order_by("occurred_at")
    )


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=12))


@pytest.mark.django_db
def test_the_reason_names_the_missing_future_or_expired_authorization():
    today = timezone.localdate()
    expired = AuthorizationFactory(
        number="A-OLD", issued_on=date(2015, 3, 1), expires_on=date(2020, 2, 28)
    )
    future = AuthorizationFactory(
        number="A-NEW", issued_on=today + timedelta(days=3), expires_on=today + timedelta(days=900)
    )
    assert CameraFactory(authorization=None).authorization_refusal() == (
        "Aucune autorisation préfectorale."
    )
    assert CameraFactory(authorization=expired).authorization_refusal() == (
        "Autorisation A-OLD expirée le 28/02/2020."
    )
    assert CameraFactory(authorization=future).authorization_refusal() == (
        f"Autorisation A-NEW en vigueur à partir du {future.issued_on:%d/%m/%Y}."
    )
    in_force = CameraFactory()
    assert in_force.authorization_refusal() == ""
    # Valid on its last day, not the day after.
    last = in_force.authorization.expires_on
    assert in_force.authorization_refusal(last) == ""
    assert "expirée" in in_force.authorization_refusal(last + timedelta(days=1))


@pytest.mark.django_db
def test_expiry_stops_once_and_renewal_resumes_once_whatever_the_number_of_runs():
    today = timezone.localdate()
    authorization = AuthorizationFactory(
        issued_on=today - timedelta(days=100), expires_on=today + timedelta(days=10)
    )
    camera = CameraFactory(authorization=authorization)
    assert recording_authorizations_sync(now=_at(today)) == {}
    after = _at(today + timedelta(days=11))
    for _ in range(3):  # three dispatch cycles past the expiry
        refused = recording_authorizations_sync(now=after)
    assert refused == {
        camera.pk: f"Autorisation {authorization.number} expirée le "
        f"{authorization.expires_on:%d/%m/%Y}."
    }
    camera.refresh_from_db()
    assert camera.unauthorized_since == after
    [stop] = _events(camera, STOPPED)
    assert stop.reason == refused[camera.pk]
    assert stop.details["authorization"] == authorization.number
    assert _events(camera, RESUMED) == []

    renewal = AuthorizationFactory(
        issued_on=today + timedelta(days=5), expires_on=today + timedelta(days=1800)
    )
    Camera.objects.filter(pk=camera.pk).update(authorization=renewal)
    for _ in range(3):
        assert recording_authorizations_sync(now=after + timedelta(minutes=1)) == {}
    camera.refresh_from_db()
    assert camera.unauthorized_since is None
    [resume] = _events(camera, RESUMED)
    assert resume.details["authorization"] == renewal.number
    assert len(_events(camera, STOPPED)) == 1


@pytest.mark.django_db
def test_the_dispatcher_sends_no_recorder_without_authorization_and_resumes_on_renewal():
    today = timezone.localdate()
    authorized = CameraFactory(code="CAM-OK")
    unauthorized = CameraFactory(code="CAM-NONE", authorization=None)
    expired = CameraFactory(
        code="CAM-EXP",
        authorization=AuthorizationFactory(
            issued_on=today - timedelta(days=400), expires_on=today - timedelta(days=1)
        ),
    )
    CameraFactory(code="CAM-OFF", status=CameraStatus.MAINTENANCE, authorization=None)
    with mock.patch.object(tasks.record_camera, "apply_async") as send:
        assert tasks.dispatch_recorders() == 1
        assert tasks.dispatch_recorders() == 1
    assert [c.kwargs["args"] for c in send.call_args_list] == [[authorized.pk], [authorized.pk]]
    assert len(_events(unauthorized, STOPPED)) == 1
    assert len(_events(expired, STOPPED)) == 1
    assert _events(authorized, STOPPED) == []

    Camera.objects.filter(pk=expired.pk).update(authorization=AuthorizationFactory())
    with mock.patch.object(tasks.record_camera, "apply_async") as send:
        tasks.dispatch_recorders()
        tasks.dispatch_recorders()
    assert {c.kwargs["args"][0] for c in send.call_args_list} == {authorized.pk, expired.pk}
    assert len(_events(expired, RESUMED)) == 1
    assert _events(unauthorized, RESUMED) == []


@pytest.mark.django_db
def test_a_recorder_does_not_start_on_a_camera_without_authorization():
    camera = CameraFactory(authorization=None)
    assert run_recorder(camera.pk, "test-recorder") == (
        "camera not authorized: Aucune autorisation préfectorale."
    )
    assert not RecorderLease.objects.filter(camera=camera, holder="test-recorder").exists()
    assert len(_events(camera, STOPPED)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_running_recorder_stops_when_its_authorization_expires(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    clip = h264_clip(tmp_path / "source.mp4", seconds=2, gop=6)
    today = timezone.localdate()
    authorization = AuthorizationFactory(
        issued_on=today - timedelta(days=100), expires_on=today + timedelta(days=10)
    )
    camera = CameraFactory(stream_url=f"file://{clip}", authorization=authorization)
    stop = threading.Event()
    outcome: list[str] = []

    def record() -> None:
        try:
            outcome.append(
                run_recorder(
                    camera.pk,
                    "test-recorder",
                    stop=stop,
                    remux_settings=remux.RemuxSettings(segment_seconds=1.0),
                    renew_every=0.5,
                )
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)
        assert RecorderLease.objects.get(camera=camera).holder == "test-recorder"
        # The authorization lapses (its end date moved to yesterday, as the calendar would).
        type(authorization).objects.filter(pk=authorization.pk).update(
            expires_on=today - timedelta(days=1)
        )
        started = time.monotonic()
        thread.join(timeout=30)  # one dispatch cycle
        assert not thread.is_alive(), "the recorder kept recording without authorization"
        assert time.monotonic() - started < 30
    finally:
        stop.set()
        thread.join(timeout=60)
    reason = f"Autorisation {authorization.number} expirée le {today - timedelta(days=1):%d/%m/%Y}."
    assert outcome == [f"camera not authorized: {reason}"]
    lease = RecorderLease.objects.get(camera=camera)
    assert lease.holder == "" and lease.state == RecorderLease.State.STOPPED
    assert lease.last_error == reason
    assert len(_events(camera, STOPPED)) == 1


@pytest.mark.django_db
def test_as_days_pass_expiry_stops_at_the_next_dispatch_and_a_renewal_resumes_it(
    monkeypatch, supervisor, tmp_path
):
    """Time travel: the calendar, not the database, moves the authorization out of force."""
    today = timezone.localdate()
    authorization = AuthorizationFactory(
        number="A-ENDING",
        issued_on=today - timedelta(days=1800),
        expires_on=today + timedelta(days=3),
    )
    clip = tmp_path / "source.mp4"
    clip.write_bytes(b"")
    camera = CameraFactory(authorization=authorization, stream_url=clip.as_uri())

    def dispatched_at(moment: datetime) -> set[int]:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        with mock.patch.object(tasks.record_camera, "apply_async") as send:
            tasks.dispatch_recorders()
        return {c.kwargs["args"][0] for c in send.call_args_list}

    assert dispatched_at(_at(authorization.expires_on)) == {camera.pk}  # its last day
    # One dispatch cycle (30 s) after midnight of the day after: not sent, stopped, audited.
    midnight = timezone.make_aware(
        datetime.combine(authorization.expires_on + timedelta(days=1), datetime.min.time())
    )
    first_cycle = midnight + timedelta(seconds=30)
    assert dispatched_at(first_cycle) == set()
    camera.refresh_from_db()
    assert camera.unauthorized_since == first_cycle
    [stop] = _events(camera, STOPPED)
    assert stop.reason == f"Autorisation A-ENDING expirée le {authorization.expires_on:%d/%m/%Y}."
    assert dispatched_at(first_cycle + timedelta(days=2)) == set()
    assert len(_events(camera, STOPPED)) == 1

    # The renewed arrêté is attached through the register: the next dispatch sends a recorder.
    later = first_cycle + timedelta(days=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    renewal = AuthorizationFactory(
        number="A-RENEWED", issued_on=timezone.localdate(later) - timedelta(days=1)
    )
    services.camera_update(
        camera=camera, actor=supervisor, authorization=renewal, verify_source=False
    )
    assert dispatched_at(later + timedelta(seconds=30)) == {camera.pk}
    camera.refresh_from_db()
    assert camera.unauthorized_since is None
    [resume] = _events(camera, RESUMED)
    assert resume.details["authorization"] == "A-RENEWED"
    assert resume.details["stopped_since"].startswith(
        first_cycle.astimezone(UTC).date().isoformat()
    )


@pytest.mark.django_db
def test_the_generated_year_is_recorded_under_an_authorization_in_force():
    year = generate_year(2024, operators=2, signalements=5, cameras=3, prefix="gen")
    codes = [camera.pk for camera in year.cameras]
    assert recording_authorizations_sync(camera_ids=codes) == {}
    with mock.patch.object(tasks.record_camera, "apply_async") as send:
        tasks.dispatch_recorders()
    assert {c.kwargs["args"][0] for c in send.call_args_list} == set(codes)
    # Generated again for another year, its cameras take their own arrêté.
    other = generate_year(2025, operators=2, signalements=5, cameras=2, prefix="gen2")
    assert recording_authorizations_sync(camera_ids=[c.pk for c in other.cameras]) == {}
