"""Health checks against real sources: a clip, an MJPEG stream, black, frozen, unreachable."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cameras import health, services
from cameras.models import Camera, CameraOutage, CameraStatus, HealthStatus
from cameras.tasks import check_cameras_health
from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_checks(settings):
    settings.CAMERA_CONNECT_TIMEOUT = 2
    settings.CAMERA_SAMPLE_SECONDS = 1


def test_clip_mjpeg_black_frozen_and_unreachable_sources_get_the_right_status(clips, mjpeg_server):
    CameraFactory(code="FILE", stream_url=clips["motion"].as_uri())
    CameraFactory(code="MJPEG", stream_url=f"{mjpeg_server}/mjpeg")
    CameraFactory(code="BLACK", stream_url=clips["black"].as_uri())
    CameraFactory(code="FROZEN", stream_url=clips["still"].as_uri())
    CameraFactory(code="DOWN", stream_url="rtsp://127.0.0.1:1/live")
    CameraFactory(code="GONE", stream_url="file:///nulle/part.mp4")
    CameraFactory(code="OFF", stream_url="rtsp://127.0.0.1:1/x", status=CameraStatus.MAINTENANCE)

    started = time.monotonic()
    results = check_cameras_health()
    assert time.monotonic() - started < 15

    assert results == {
        "BLACK": HealthStatus.BLACK,
        "DOWN": HealthStatus.UNREACHABLE,
        "FILE": HealthStatus.OK,
        "FROZEN": HealthStatus.FROZEN,
        "GONE": HealthStatus.UNREACHABLE,
        "MJPEG": HealthStatus.OK,
    }
    stored = dict(Camera.objects.values_list("code", "health_status"))
    assert stored["OFF"] == HealthStatus.UNKNOWN  # not in service: not checked
    assert stored["FILE"] == HealthStatus.OK
    assert Camera.objects.get(code="FILE").reference_image  # first healthy check: reference
    assert Camera.objects.get(code="MJPEG").health_detail["fps"] > 6
    assert set(
        CameraOutage.objects.filter(ended_at__isnull=True).values_list("camera__code", flat=True)
    ) == {"BLACK", "DOWN", "FROZEN", "GONE"}


def test_a_source_that_hangs_does_not_stop_the_others(clips, settings):
    import socket

    # A server that accepts the connection and then never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        port = silent.getsockname()[1]
        CameraFactory(code="HANG", stream_url=f"http://127.0.0.1:{port}/mjpeg")
        CameraFactory(code="FILE", stream_url=clips["motion"].as_uri())
        started = time.monotonic()
        results = services.cameras_check_health()
        assert time.monotonic() - started < 12
    finally:
        silent.close()
    assert results == {"FILE": HealthStatus.OK, "HANG": HealthStatus.UNREACHABLE}


def test_status_changes_open_and_close_outage_periods_once(clips):
    camera = CameraFactory(code="CAM-H", stream_url=clips["black"].as_uri())
    services.cameras_check_health()
    services.cameras_check_health()  # same state again: no new outage, no new event
    outage = CameraOutage.objects.get(camera=camera)
    assert outage.status == HealthStatus.BLACK and outage.ended_at is None
    Camera.objects.filter(pk=camera.pk).update(stream_url=clips["motion"].as_uri())
    services.cameras_check_health()
    outage.refresh_from_db()
    assert outage.ended_at is not None
    assert CameraOutage.objects.filter(camera=camera).count() == 1
    changes = AuditEvent.objects.filter(action="camera.health_changed").order_by("seq")
    assert [(e.details["from"], e.details["to"]) for e in changes] == [
        ("unknown", "black"),
        ("black", "ok"),
    ]


def test_recording_the_same_change_twice_counts_once(clips):
    camera = CameraFactory(stream_url=clips["black"].as_uri())
    probe = health.Probe(HealthStatus.UNREACHABLE, {"error": "x"})
    assert services.camera_record_health(camera_id=camera.pk, probe=probe) is True
    assert services.camera_record_health(camera_id=camera.pk, probe=probe) is False
    assert CameraOutage.objects.filter(camera=camera).count() == 1


def test_a_displaced_camera_is_detected_against_its_reference(clips):
    camera = CameraFactory(code="CAM-MV", stream_url=clips["motion"].as_uri())
    services.cameras_check_health()
    assert Camera.objects.get(pk=camera.pk).health_status == HealthStatus.OK
    # Knocked a quarter of the picture sideways: the reference no longer matches.
    from cameras.demo import write_clip

    knocked = write_clip(
        clips["motion"].with_name("knocked.mp4"),
        label="TEST",
        seconds=2,
        size=(160, 90),
        offset=(40, 20),
    )
    Camera.objects.filter(pk=camera.pk).update(stream_url=knocked.as_uri())
    services.cameras_check_health()
    camera.refresh_from_db()
    assert camera.health_status == HealthStatus.MOVED, camera.health_detail


def test_health_board_lists_most_severe_first(signed_in, operator, clips):
    now = timezone.now()
    CameraFactory(code="A-OK", health_status=HealthStatus.OK, health_checked_at=now)
    CameraFactory(code="B-DOWN", health_status=HealthStatus.UNREACHABLE, health_checked_at=now)
    CameraFactory(
        code="C-BLUR",
        health_status=HealthStatus.BLURRED,
        health_checked_at=now - timedelta(minutes=1),
    )
    codes = [c["code"] for c in signed_in(operator).get("/api/cameras/health/").json()]
    assert codes == ["B-DOWN", "C-BLUR", "A-OK"]
    page = signed_in(operator).get("/cameras/sante/").content.decode()
    assert page.index("B-DOWN") < page.index("C-BLUR") < page.index("A-OK")


def test_beat_schedule_checks_health_with_an_expiry():
    from csu.celery import app

    entry = app.conf.beat_schedule["cameras-check-health"]
    assert entry["task"] == "cameras.tasks.check_cameras_health"
    assert entry["options"]["expires"] < entry["schedule"]


def test_a_round_takes_as_many_threads_as_its_cameras_need(settings):
    """93 cameras must be checked within the beat's minute: a round sizes its pool to end in
    about 20 s (sample + connection per camera), between 4 and the configured maximum."""
    settings.CAMERA_SAMPLE_SECONDS = 2
    settings.CAMERA_HEALTH_MAX_WORKERS = 64
    assert services.health_workers(5) == 4
    assert services.health_workers(93) == 14  # 93 x 3 s / 14 threads ≈ 20 s
    assert services.health_workers(930) == 64
    settings.CAMERA_HEALTH_MAX_WORKERS = 8
    assert services.health_workers(930) == 8


def test_a_round_probes_that_many_cameras_at_once(settings, monkeypatch):
    import threading

    settings.CAMERA_SAMPLE_SECONDS = 2
    for n in range(40):
        CameraFactory(code=f"CAM-R{n:02d}", stream_url="rtsp://127.0.0.1:9/none")
    lock, running, most = threading.Lock(), [0], [0]

    def probe(job):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return health.Probe(HealthStatus.OK, {})

    monkeypatch.setattr(services, "_probe_camera", probe)
    results = services.cameras_check_health()
    assert len(results) == 40 and set(results.values()) == {HealthStatus.OK}
    assert most[0] == services.health_workers(40) == 6
