"""A camera that goes away and comes back: the footage lost is the outage plus the retry cap."""

from __future__ import annotations

import threading
import time

import pytest

from cameras.models import Camera
from recordings.models import Gap, Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import AuthorizationFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CAP = 1  # CSU_RECORDER_RETRY_MAX_SECONDS
# Long enough that exponential backoff without a cap would wait well past the camera's return
# (attempts about 1, 3, 7, 15 and 31 s after the loss); connecting, probing and the first key
# frame (one second) come on top of the cap.
OUTAGE = 18
CONNECT = 1.5


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_an_outage_costs_no_more_footage_than_its_length_plus_the_retry_cap(
    live_camera, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_SEGMENT_SECONDS = 2
    settings.RECORDER_RETRY_MAX_SECONDS = CAP
    source = live_camera()
    camera = Camera.objects.create(
        code="CAM-R1",
        name="Rond-point",
        sector="nord",
        kind="fixe",
        stream_url=source.url,
        authorization=AuthorizationFactory(),
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_recorder, args=(camera.pk, "test-recorder"), kwargs={"stop": stop}, daemon=True
    )
    thread.start()
    try:
        stored = Segment.objects.filter(camera=camera)
        _wait(lambda: stored.count() >= 2, 30, "recording")
        source.stop()  # the camera goes away
        down_at = time.time()
        # While it is away the outage is an open gap (never an unexplained hole), recorded
        # once the segment it cut short is stored.
        gaps = Gap.objects.filter(camera=camera, ended_at__isnull=True)
        _wait(gaps.exists, 10, "the outage to be recorded")
        before = stored.count()
        time.sleep(OUTAGE / 2)
        assert gaps.count() == 1
        time.sleep(max(0.0, down_at + OUTAGE - time.time()))
        source.start()  # same address
        outage = time.time() - down_at
        _wait(lambda: stored.count() >= before + 2, 30, "recording to resume")
    finally:
        stop.set()
        thread.join(30)

    segments = list(stored.order_by("started_at"))
    last_before, first_after = segments[before - 1], segments[before]
    gap = Gap.objects.get(camera=camera)
    assert (gap.started_at, gap.ended_at) == (last_before.ended_at, first_after.started_at)
    assert "connection" in gap.reason
    lost = (first_after.started_at - last_before.ended_at).total_seconds()
    assert outage - 1 <= lost <= outage + CAP + CONNECT, (lost, outage)
