"""A camera's own clock, measured by its recorder from the stream: real RTSP cameras (GStreamer)
whose clock keeps time, or loses half a second every second."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from audit.models import AuditEvent
from cameras.models import Camera
from recordings import recorder
from recordings.models import Segment
from tests.cameras.factories import AuthorizationFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _record_until(camera: Camera, done, seconds: float) -> None:
    stop = threading.Event()

    def run() -> None:
        try:
            recorder.run_recorder(camera.pk, "test-recorder", stop=stop, renew_every=0.5)
        finally:
            connections.close_all()  # this thread's own connection, before the test database goes

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, "not measured in time"
            time.sleep(0.3)
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()


def _camera(code: str, url: str) -> Camera:
    return Camera.objects.create(
        code=code,
        name=code,
        sector="centre",
        kind="fixe",
        stream_url=url,
        authorization=AuthorizationFactory(),
    )


def test_a_camera_clock_that_drifts_five_seconds_raises_the_alert(live_camera, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_SEGMENT_SECONDS = 2
    settings.CAMERA_MAX_DRIFT_MS = 2000
    # From its first second, the camera's clock runs at half speed: 5 s behind within ~10 s.
    source = live_camera(RTSP_TEST_FAULT="rate@1:0.5")
    camera = _camera("CAM-DERIVE", source.url)

    def drifted_five_seconds() -> bool:
        return Segment.objects.filter(camera=camera, clock_offset_ms__lt=-5000).exists()

    _record_until(camera, drifted_five_seconds, 45)

    camera.refresh_from_db()
    assert camera.clock_alert_since is not None
    assert camera.clock_offset_ms is not None and camera.clock_offset_ms < -2000
    event = AuditEvent.objects.get(action="recording.camera_clock_alert")
    assert event.target_id == str(camera.pk)
    assert event.details["threshold_ms"] == 2000
    # One figure per segment, growing as the clock falls behind; measured by RTCP reports.
    figures = list(
        Segment.objects.filter(camera=camera)
        .order_by("started_at")
        .values_list("clock_offset_ms", "clock_source")
    )
    assert {source for _offset, source in figures} == {"rtcp"}
    assert figures[-1][0] < figures[0][0] - 3000
    # The recordings themselves stay dated by arrival: back to back, never in the future.
    last = Segment.objects.filter(camera=camera).latest("ended_at")
    assert last.ended_at.timestamp() <= time.time() + 0.2


def test_a_camera_that_keeps_time_raises_no_alert(live_camera, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_SEGMENT_SECONDS = 2
    source = live_camera()
    camera = _camera("CAM-JUSTE", source.url)

    def three_measured() -> bool:
        return Segment.objects.filter(camera=camera, clock_offset_ms__isnull=False).count() >= 3

    _record_until(camera, three_measured, 40)

    camera.refresh_from_db()
    assert camera.clock_alert_since is None
    assert camera.clock_measured_at is not None
    offsets = Segment.objects.filter(camera=camera, clock_offset_ms__isnull=False).values_list(
        "clock_offset_ms", flat=True
    )
    assert all(abs(offset) < 1000 for offset in offsets), list(offsets)
    assert not AuditEvent.objects.filter(action="recording.camera_clock_alert").exists()
