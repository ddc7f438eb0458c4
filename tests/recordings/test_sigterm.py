"""A recorder worker stopped as process managers stop it: SIGTERM, then a kill after a grace.

honcho kills 5 s after SIGTERM (Docker 10 s by default): within that, the worker stores the
open segment of every camera it records, and hands its cameras back so that the next recorder
(here the same one, restarted) takes them at once rather than at beat's next dispatch; the
restart costs the time no recorder ran, not more.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cameras.models import Camera
from recordings.models import Gap, RecorderLease, Segment
from recordings.remux import RemuxSettings, record
from recordings.tasks import dispatch_recorders
from tests.cameras.factories import AuthorizationFactory
from tests.recordings.conftest import CollectingSink
from tests.workers import start_worker

pytestmark = pytest.mark.slow

HONCHO_GRACE = 5
# Longer than the test: what is stored is the segment open at the signal.
SEGMENT_SECONDS = 60
# The lease (renewed every third) is the old recorder's only chance to notice the signal.
LEASE_SECONDS = 30


def _wait(condition, timeout: float, logs: list) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    tails = [p.read_text()[-3000:] for p in logs if p.exists()]
    pytest.fail("timed out; worker logs:\n" + "\n".join(tails))


def _held_by(worker: subprocess.Popen, cameras: list[Camera], since: float = 0) -> bool:
    leases = RecorderLease.objects.filter(camera__in=cameras, expires_at__gt=timezone.now())
    return sum(
        1
        for lease in leases
        if lease.holder.split(":")[1:2] == [str(worker.pid)]
        and lease.state == RecorderLease.State.RECORDING
        and lease.acquired_at.timestamp() <= time.time() - since
    ) == len(cameras)


def _terminate(worker: subprocess.Popen) -> tuple[float, bool]:
    """SIGTERM, then SIGKILL after honcho's grace; (when signalled, whether it was killed)."""
    signalled = time.time()
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=HONCHO_GRACE)
        return signalled, False
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        return signalled, True


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_sigterm_stores_the_open_footage_of_two_rtsp_cameras_and_a_restart_resumes_at_once(
    live_camera, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    cameras = [
        Camera.objects.create(
            code=f"CAM-S{n}",
            name=f"Rue {n}",
            sector="sud",
            kind="fixe",
            stream_url=live_camera().url,
            authorization=AuthorizationFactory(),
        )
        for n in (1, 2)
    ]
    env = {
        "CSU_SEGMENT_SECONDS": str(SEGMENT_SECONDS),
        "CSU_RECORDER_LEASE_SECONDS": str(LEASE_SECONDS),
        "CSU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = start_worker(logs[0], queues="recording", name="rec-term", pool="threads", **env)
    second = None
    try:
        assert dispatch_recorders() == 2

        def recording_for_a_while() -> bool:
            dispatch_recorders()  # what beat does; a camera already held is not sent again
            return _held_by(first, cameras, since=6)

        # Both cameras recorded for a while, their first segment still open.
        _wait(recording_for_a_while, 120, logs)
        assert not Segment.objects.filter(camera__in=cameras).exists()

        signalled, killed = _terminate(first)
        assert not killed, "the recorder worker outlived honcho's grace period"
        for camera in cameras:
            last = Segment.objects.filter(camera=camera).order_by("-ended_at").first()
            assert last is not None, f"{camera.code}: the open segment was lost"
            assert last.ended_at.timestamp() > signalled - 2, camera.code
            assert last.duration > 3  # the open segment, not a sliver
            lease = RecorderLease.objects.get(camera=camera)
            assert lease.holder == "" and lease.state == RecorderLease.State.STOPPED

        # Restarted (a deployment). The stopped worker handed its cameras back to the queue;
        # the test also dispatches as beat does (kombu's filesystem transport used by the tests
        # now and then leaves one of two messages published together unseen for minutes).
        second = start_worker(logs[1], queues="recording", name="rec-again", pool="threads", **env)

        def recording_again() -> bool:
            dispatch_recorders()
            return _held_by(second, cameras, since=3)

        _wait(recording_again, 120, logs)
        _signalled, killed = _terminate(second)
        assert not killed
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)

    for camera in cameras:
        before, after = Segment.objects.filter(camera=camera).order_by("started_at")[:2]
        lease = RecorderLease.objects.get(camera=camera)
        # What the restart cost is the time no recorder ran, plus connecting to the camera.
        down = (lease.acquired_at - before.ended_at).total_seconds()
        lost = (after.started_at - before.ended_at).total_seconds()
        assert 0 <= lost <= down + 2.5, (camera.code, lost, down)
        gap = Gap.objects.get(camera=camera)
        assert (gap.started_at, gap.ended_at) == (before.ended_at, after.started_at)
        assert after.ended_at - after.started_at > timedelta(seconds=2)


def test_stopping_interrupts_a_read_blocked_on_a_camera_that_went_silent(live_camera):
    """A camera that stops sending without closing the connection blocks the read for the
    whole read timeout; a stop (what SIGTERM sets) must not wait for it."""
    camera = live_camera()
    sink = CollectingSink()
    stop = threading.Event()
    settings = RemuxSettings(segment_seconds=30, read_timeout=10, probe_seconds=0.5)
    thread = threading.Thread(
        target=record, args=(camera.url, sink), kwargs={"stop": stop, "settings": settings}
    )
    thread.start()
    try:
        time.sleep(4)
        os.kill(camera.process.pid, signal.SIGSTOP)  # frozen: connected, silent
        time.sleep(1.5)
        stopped_at = time.monotonic()
        stop.set()
        thread.join(timeout=10)
        took = time.monotonic() - stopped_at
    finally:
        os.kill(camera.process.pid, signal.SIGCONT)
        stop.set()
        thread.join(timeout=15)

    assert took < 2, f"the blocked read held the recorder {took:.1f} s"
    assert [s.closed_by for s in sink.segments] == ["stopped"]
    assert sink.segments[0].duration > 2
