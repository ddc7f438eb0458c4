"""Two real recorder workers share the cameras; one is killed, the other takes its camera over."""

from __future__ import annotations

import os
import signal
import time
from itertools import pairwise

import pytest

from cameras.models import Camera
from recordings.models import Gap, RecorderLease, Segment
from recordings.tasks import dispatch_recorders
from tests.cameras.factories import AuthorizationFactory
from tests.recordings.media import h264_clip
from tests.workers import start_worker

SEGMENT_SECONDS = 2
LEASE_SECONDS = 5

pytestmark = [
    pytest.mark.worker,
    pytest.mark.xdist_group("celery-worker"),
    pytest.mark.django_db(transaction=True),
]


def _wait(condition, timeout: float, logs: list) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    pytest.fail("timed out; worker logs:\n" + "\n".join(p.read_text()[-3000:] for p in logs))


def _holder_pid() -> int | None:
    holder = RecorderLease.objects.values_list("holder", flat=True).first() or ""
    parts = holder.split(":")
    return int(parts[1]) if len(parts) == 3 else None


def test_killed_recorder_is_replaced_after_its_lease_lapses(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    clip = h264_clip(tmp_path / "source.mp4", seconds=2, gop=6, audio=False)
    camera = Camera.objects.create(
        code="CAM-K1",
        name="Parvis",
        sector="centre",
        kind="fixe",
        stream_url=f"file://{clip}",
        authorization=AuthorizationFactory(),
    )
    env = {
        "CSU_SEGMENT_SECONDS": str(SEGMENT_SECONDS),
        "CSU_RECORDER_LEASE_SECONDS": str(LEASE_SECONDS),
        "CSU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    first = start_worker(logs[0], queues="recording", name="rec-a", pool="threads", **env)
    second = None
    try:
        assert dispatch_recorders() == 1
        _wait(lambda: Segment.objects.filter(camera=camera).count() >= 2, 60, logs)
        assert _holder_pid() == first.pid

        second = start_worker(logs[1], queues="recording", name="rec-b", pool="threads", **env)
        time.sleep(3)
        assert dispatch_recorders() == 0  # the camera is held: nobody else records it

        os.killpg(first.pid, signal.SIGKILL)  # mid-segment, without warning
        first.wait(timeout=10)
        killed_at = Segment.objects.filter(camera=camera).count()

        def taken_over() -> bool:
            dispatch_recorders()
            return _holder_pid() == second.pid

        _wait(taken_over, LEASE_SECONDS + 30, logs)
        _wait(lambda: Segment.objects.filter(camera=camera).count() >= killed_at + 2, 60, logs)
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)

    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    for before, after in pairwise(segments):
        assert after.started_at >= before.ended_at, "overlapping segments"
    # The outage between the killed recorder's last segment and the new one's first is recorded.
    last_before, first_after = segments[killed_at - 1], segments[killed_at]
    gap = Gap.objects.get(camera=camera, started_at=last_before.ended_at)
    assert gap.ended_at == first_after.started_at
    # At most the segment being written was lost, plus the lease time to notice.
    lost = (gap.ended_at - gap.started_at).total_seconds()
    assert lost < SEGMENT_SECONDS + LEASE_SECONDS + 15
