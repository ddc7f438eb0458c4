"""The recorder against real streams: a looped file, RTSP from GStreamer, MJPEG over HTTP."""

from __future__ import annotations

import io
import itertools
import threading
import time
from datetime import timedelta

import pytest

from recordings.crypto import EncryptingWriter, SegmentDecryptor, new_data_key
from recordings.remux import RemuxSettings, _bounded_size, record
from tests.recordings.conftest import CollectingSink, free_port
from tests.recordings.media import probe

pytestmark = pytest.mark.slow

FAST = RemuxSettings(
    segment_seconds=2, open_timeout=3, read_timeout=2, probe_seconds=0.5, backoff_initial=0.2
)


def start_recording(url: str, sink: CollectingSink, settings: RemuxSettings = FAST):
    stop = threading.Event()
    thread = threading.Thread(
        target=record, args=(url, sink), kwargs={"stop": stop, "settings": settings}, daemon=True
    )
    thread.start()
    return stop, thread


def assert_back_to_back(segments) -> None:
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start, (before.end, after.start)
        assert before.start < before.end


def assert_playable_copy_of_source(segment, *, frames: int) -> None:
    """Video only, decodable from its first frame, carrying consecutive source frames."""
    seen = probe(segment.data)
    assert seen["streams"] == ["video"]
    assert seen["first_key"]
    assert seen["frames"] == segment.frames == frames
    first = seen["indices"][0]
    assert seen["indices"] == list(range(first, first + frames))


def test_file_source_gives_back_to_back_segments_of_the_requested_length(clip):
    sink = CollectingSink()
    stop, thread = start_recording(clip.as_uri(), sink)
    sink.wait_for(lambda s: len(s.segments) >= 3)
    stop.set()
    thread.join(5)

    full = sink.segments[:3]
    assert [s.closed_by for s in full] == ["length"] * 3
    # 2 s at 12 fps, key frames every 12 frames: exactly 24 frames, 2 s of stream time.
    assert all(s.duration == pytest.approx(2.0, abs=0.01) for s in full)
    assert_back_to_back(sink.segments)
    for segment in full:
        assert segment.codec == "h264" and not segment.transcoded
        assert (segment.width, segment.height) == (320, 240)
        assert_playable_copy_of_source(segment, frames=24)
    # Paced like a camera: stream time is wall time.
    span = sink.segments[2].end - sink.segments[0].start
    assert span == pytest.approx(timedelta(seconds=6), abs=timedelta(seconds=0.05))
    assert sink.gaps == []


def test_segments_streamed_into_the_encryptor_decrypt_to_playable_video(clip):
    data_key = new_data_key()

    class EncryptingSink(CollectingSink):
        stored: list[bytes]

        def segment(self, segment):
            target = io.BytesIO()
            with EncryptingWriter(target, data_key, "cam-01/2025-01-31/1", chunk_size=4096) as w:
                w.write(segment.data)
            self.stored.append(target.getvalue())
            super().segment(segment)

    sink = EncryptingSink()
    sink.stored = []
    stop, thread = start_recording(clip.as_uri(), sink)
    sink.wait_for(lambda s: len(s.segments) >= 1)
    stop.set()
    thread.join(5)

    stored = sink.stored[0]
    assert sink.segments[0].data[:64] not in stored
    decrypted = SegmentDecryptor(stored, data_key).read_all()
    assert decrypted == sink.segments[0].data
    assert probe(decrypted)["frames"] == 24


def test_rtsp_outage_closes_the_segment_reports_a_gap_and_recording_resumes(rtsp_server):
    sink = CollectingSink()
    stop, thread = start_recording(rtsp_server.url, sink)
    try:
        sink.wait_for(lambda s: len(s.segments) >= 2)
        time.sleep(0.8)  # well inside the third segment
        rtsp_server.stop()
        sink.wait_for(lambda s: len(s.gaps) >= 1)
        cut = sink.segments[2]
        open_gap = sink.gaps[0]
        rtsp_server.start()
        sink.wait_for(lambda s: len(s.segments) >= 5 and len(s.gaps) >= 2)
    finally:
        stop.set()
        thread.join(5)

    # The open segment was closed and kept, short, and the outage was reported at once.
    assert cut.closed_by == "connection_lost"
    assert 0.3 < cut.duration < 2.0
    assert_playable_copy_of_source(cut, frames=cut.frames)
    assert open_gap.end is None
    assert open_gap.start == cut.end
    # Recording resumed where the gap ends, with no overlap anywhere.
    closed_gap = sink.gaps[1]
    assert (closed_gap.start, closed_gap.reason) == (open_gap.start, open_gap.reason)
    resumed = sink.segments[3]
    assert closed_gap.end == resumed.start
    assert resumed.start > cut.end
    assert_back_to_back(sink.segments[:3])
    assert_back_to_back(sink.segments[3:])
    for segment in sink.segments[:2] + sink.segments[3:5]:
        assert segment.closed_by == "length"
        assert segment.duration == pytest.approx(2.0, abs=0.01)
        # The source clip has audio; the segments must not.
        assert_playable_copy_of_source(segment, frames=24)


def test_mjpeg_camera_is_encoded_to_h264_segments(mjpeg_url):
    sink = CollectingSink()
    stop, thread = start_recording(mjpeg_url, sink)
    sink.wait_for(lambda s: len(s.segments) >= 2)
    stop.set()
    thread.join(5)

    assert_back_to_back(sink.segments)
    for segment in sink.segments[:2]:
        assert segment.transcoded and segment.codec == "h264"
        assert segment.closed_by == "length"
        assert segment.duration == pytest.approx(2.0, abs=0.25)
        seen = probe(segment.data)
        assert seen["streams"] == ["video"] and seen["first_key"]
        assert seen["size"] == (320, 240)
        # Arrival-timed frames at ~12 fps; each one survives JPEG then H.264.
        assert 20 <= seen["frames"] <= 28
        first = seen["indices"][0]
        assert seen["indices"] == list(range(first, first + seen["frames"]))


def test_unreachable_camera_reports_one_open_gap_and_keeps_retrying():
    sink = CollectingSink()
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    settings = RemuxSettings(open_timeout=1, backoff_initial=0.05, backoff_max=0.2)
    stop, thread = start_recording(url, sink, settings)
    time.sleep(1.0)
    stop.set()
    thread.join(5)

    assert not thread.is_alive()
    assert sink.segments == []
    assert len(sink.gaps) == 1
    assert sink.gaps[0].end is None
    assert "cannot open stream" in sink.gaps[0].reason


def test_transcoded_size_is_bounded_and_even():
    settings = RemuxSettings(max_width=1280)
    assert _bounded_size(1920, 1080, settings) == (1280, 720)
    assert _bounded_size(2592, 1944, settings) == (1280, 960)
    assert _bounded_size(641, 481, settings) == (640, 480)
