"""The recorder against cameras whose stream clock misbehaves: real RTSP sources (GStreamer).

A camera's RTP timestamps restart when another client connects to some firmware, when its
encoder restarts or when its clock is stepped. Whatever they do, segments follow the arrival
clock: back to back, each indexed for as long as its frames last (within one GOP), none much
longer than the segment length, each ending before it is handed over and not long before.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta

import av
import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cameras.models import Camera
from operations import selectors as room
from recordings import recorder, remux
from recordings.models import Gap, Segment
from recordings.remux import RemuxSettings, record
from tests.cameras.factories import AuthorizationFactory
from tests.recordings.conftest import CollectingSink
from tests.recordings.media import probe

pytestmark = pytest.mark.slow

FPS = 12
GOP = 1.0  # the live test camera sends a key frame every 12 frames
SEGMENT = 2.0
SETTINGS = RemuxSettings(
    segment_seconds=SEGMENT,
    open_timeout=5,
    read_timeout=3,
    probe_seconds=0.5,
    backoff_initial=0.2,
    backoff_max=1,
)
# Scheduling slack on a loaded machine; far below what the faults cost before (a segment
# indexed for 2 s that holds 7 s of frames, or ending 20 s in the future).
LATE = 2.5
SLACK = 0.15


class TimedSink(CollectingSink):
    """Also notes when each segment was handed over, by the arrival clock."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[float] = []

    def segment(self, segment: remux.Segment) -> None:
        self.received.append(time.time())
        super().segment(segment)


def record_for(url: str, seconds: float, *, during=None) -> tuple[TimedSink, float]:
    """Record ``url`` for ``seconds``; ``during`` runs meanwhile (a camera's other client)."""
    sink = TimedSink()
    stop = threading.Event()
    thread = threading.Thread(
        target=record, args=(url, sink), kwargs={"stop": stop, "settings": SETTINGS}, daemon=True
    )
    thread.start()
    try:
        if during is not None:
            during()
        time.sleep(seconds)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    return sink, time.time()


def assert_follows_the_arrival_clock(sink: TimedSink, stopped_at: float) -> None:
    segments = sink.segments
    assert len(segments) >= 4, segments
    for segment, received in zip(segments, sink.received, strict=True):
        frames_last = segment.frames / FPS
        assert abs(segment.duration - frames_last) <= GOP + SLACK, (segment, frames_last)
        assert segment.duration <= SEGMENT + GOP + SLACK, segment
        assert segment.end.timestamp() <= received + SLACK, "a segment ends in the future"
        assert received - segment.end.timestamp() < LATE, "a segment ends long before it closed"
    for before, after in itertools.pairwise(segments):
        hole = (after.start - before.end).total_seconds()
        assert 0 <= hole <= GOP + SLACK, (before, after)
    assert stopped_at - segments[-1].end.timestamp() < LATE, "not recorded up to the stop"
    # Every segment is a playable copy of the camera: decodable from its first frame.
    for segment in segments:
        seen = probe(segment.data)
        assert seen["first_key"] and seen["frames"] == segment.frames


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_timestamps_that_restart_mid_stream_cut_the_segment_and_recording_goes_on(
    live_camera, codec
):
    camera = live_camera(RTSP_TEST_CODEC=codec, RTSP_TEST_FAULT="reset@5.5")
    sink, stopped_at = record_for(camera.url, 12)

    assert_follows_the_arrival_clock(sink, stopped_at)
    assert [s.closed_by for s in sink.segments].count("clock_fault") == 1
    assert sink.gaps == []
    assert {s.codec for s in sink.segments} == {"h264" if codec == "h264" else "hevc"}


def test_timestamps_that_step_back_then_leap_forward_cut_the_segment_each_time(live_camera):
    camera = live_camera(RTSP_TEST_FAULT="back@5.5:5,jump@10.5:5")
    sink, stopped_at = record_for(camera.url, 15)

    assert_follows_the_arrival_clock(sink, stopped_at)
    assert [s.closed_by for s in sink.segments].count("clock_fault") == 2
    assert sink.gaps == []


def test_a_repeated_timestamp_cuts_the_segment_cleanly_at_the_next_key_frame(live_camera):
    camera = live_camera(RTSP_TEST_FAULT="duplicate@5.5")
    sink, stopped_at = record_for(camera.url, 11)

    assert_follows_the_arrival_clock(sink, stopped_at)
    cut = [s for s in sink.segments if s.closed_by == "clock_fault"]
    assert len(cut) == 1
    # Nothing is dropped at the cut: the frames run on, one frame apart, to the key frame.
    assert cut[0].frames >= FPS * GOP


def test_a_second_client_joining_the_camera_resets_its_clock_without_losing_footage(
    live_camera,
):
    camera = live_camera(RTSP_TEST_SHARED="1")

    def another_client_joins() -> None:
        def watch() -> None:
            with av.open(camera.url, options={"rtsp_transport": "tcp"}, timeout=5) as other:
                for index, _packet in enumerate(other.demux(video=0)):
                    if index >= 4 * FPS:
                        break

        time.sleep(4.5)
        threading.Thread(target=watch, daemon=True).start()

    sink, stopped_at = record_for(camera.url, 10, during=another_client_joins)

    assert_follows_the_arrival_clock(sink, stopped_at)
    # Its timestamps jumped back as the client joined (and forward again as it left).
    assert "clock_fault" in [s.closed_by for s in sink.segments]
    assert sink.gaps == []


def test_joining_between_two_key_frames_waits_for_one_and_records_the_wait_as_a_gap(
    live_camera,
):
    # Key frames every 3 s; the first second of the camera's stream does not reach us.
    camera = live_camera(RTSP_TEST_GOP="36", RTSP_TEST_FAULT="join@1")
    started = time.time()
    sink, _stopped_at = record_for(camera.url, 8)

    assert sink.segments, "nothing recorded"
    first = sink.segments[0]
    assert probe(first.data)["first_key"]
    assert (first.width, first.height) == (320, 240)
    # The wait is one gap, closed where the first segment starts, from when frames arrived.
    assert len(sink.gaps) == 1
    wait = sink.gaps[0]
    assert wait.reason == remux.WAITING_FOR_KEY_FRAME
    assert wait.end == first.start
    assert started < wait.start.timestamp() < first.start.timestamp()
    assert 0.5 < (first.start - wait.start).total_seconds() <= 3 + SLACK


@pytest.mark.django_db(transaction=True)
def test_a_recorder_that_holds_a_camera_but_stores_nothing_raises_an_alert(
    live_camera, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_SEGMENT_SECONDS = 2
    # A camera whose stream, joined after its only key frame, never gives another.
    source = live_camera(RTSP_TEST_GOP="100000", RTSP_TEST_FAULT="join@0.5")
    camera = Camera.objects.create(
        code="CAM-MUTE",
        name="Muette",
        sector="centre",
        kind="fixe",
        stream_url=source.url,
        authorization=AuthorizationFactory(),
    )
    stop = threading.Event()
    outcome: list[str] = []
    thread = threading.Thread(
        target=lambda: outcome.append(
            recorder.run_recorder(camera.pk, "test-recorder", stop=stop, renew_every=0.5)
        ),
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not AuditEvent.objects.filter(action="recording.silent").exists():
            assert time.monotonic() < deadline, "no alert for a recorder storing nothing"
            time.sleep(0.3)
        # The control room sees it while the recorder still holds the camera.
        alerts = {
            c.code: room.recording_state(c, timezone.now())
            for c in room.recording_alerts(timezone.now())
        }
    finally:
        stop.set()
        thread.join(20)

    assert alerts == {"CAM-MUTE": "silent"}
    assert not Segment.objects.filter(camera=camera).exists()
    event = AuditEvent.objects.get(action="recording.silent")
    assert event.target_id == str(camera.pk)
    assert "aucun segment" in event.reason
    # The silence is an open gap, never an unexplained hole.
    gap = Gap.objects.get(camera=camera, reason__startswith="aucun segment")
    assert gap.ended_at is None
    assert timezone.now() - gap.started_at > timedelta(seconds=2 * 2)
    assert outcome == ["stopped"]
