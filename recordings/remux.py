"""Turn a camera stream into fragmented MP4 segments in memory, by stream copy whenever possible.

H.264 and H.265 packets are copied as they come (no decoding): each segment starts on a key
frame, its timestamps are rebased to zero, and it is written by FFmpeg's MP4 muxer in
fragmented mode into memory. MJPEG sources (and any other codec) are decoded and encoded to
H.264 with libx264 at a bounded size, one encoder per segment so that each begins with an IDR
frame. Audio is never read: the law forbids recording sound.

Each closed segment goes to a :class:`SegmentSink` as bytes, with its wall-clock UTC start and
end; a lost connection closes the open segment, reports a :class:`Gap`, and :func:`record`
reconnects with exponential backoff, capped at a few seconds, until its stop event is set.
Nothing here touches the disk or the database.

Times come from the arrival clock: the camera's stream clock only orders frames inside a
segment. When it misbehaves — goes back, restarts from zero, repeats a timestamp, or runs ahead
of (or behind) the arrival clock by more than ``max_jump`` — the open segment keeps its frames
(timed one frame apart) up to the next key frame, is closed there, and the next segment starts
on a fresh mapping of the stream clock to the arrival clock. A recorder that joins a stream
between two key frames reports the wait for the first key frame as a gap.

Sources: ``rtsp://`` / ``rtsps://`` (TCP transport), ``http://`` / ``https://`` (MJPEG or any
stream FFmpeg reads) and ``file://`` (a local file played at its own pace and looped, which
stands in for a camera in tests and benchmarks). A camera's login is given apart from its
address and goes to the source only (cameras.sources): no reason, gap or log line carries it, and
an HTTP camera is read through a connection that follows no redirect to another machine.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

import av
import av.container.core
import av.error

from cameras import sources

logger = logging.getLogger(__name__)


# --- Interrupting a blocking read -----------------------------------------------------------
# PyAV's read timeout is an FFmpeg interrupt callback that compares ``time.monotonic()`` with
# the time the read started (both read through the ``time`` name of av.container.core). A
# camera that stops sending without closing the connection blocks a read for the whole
# timeout: too long when the worker is told to stop (SIGTERM, then a kill after a few
# seconds). Within a recording thread whose stop event is set, this clock moves a million
# seconds at every reading, so the next check of the callback (FFmpeg checks every ~0.1 s
# while it waits) interrupts the read or the connection attempt.
_reading = threading.local()


class _StopAwareClock:
    def __init__(self) -> None:
        self._leap = 0.0

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)

    def monotonic(self) -> float:
        stop: threading.Event | None = getattr(_reading, "stop", None)
        if stop is not None and stop.is_set():
            self._leap += 1e6
            return time.monotonic() + self._leap
        return time.monotonic()


if getattr(av.container.core, "time", None) is time:
    av.container.core.time = _StopAwareClock()  # type: ignore[attr-defined]

COPY_CODECS = frozenset({"h264", "hevc"})
#: Why there is no footage between joining a stream and its first key frame.
WAITING_FOR_KEY_FRAME = "en attente de la première image clé du flux"
MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
_ENCODER_TIME_BASE = Fraction(1, 1000)
# A key frame this close before the boundary closes the segment: RTP clocks put the key frame
# due at 2.000 s at 1.99995 s, and without slack the segment would run a whole GOP longer.
_CUT_SLACK = 0.02


@dataclass(frozen=True)
class Segment:
    """A closed fragmented-MP4 segment: plaintext bytes held in memory only."""

    data: bytes
    start: dt.datetime
    end: dt.datetime
    frames: int
    codec: str
    width: int
    height: int
    transcoded: bool
    # "length" (full), "clock_fault" (cut at the key frame after the stream clock broke),
    # "connection_lost" (cut short by an outage) or "stopped".
    closed_by: str
    #: The camera's clock minus the arrival clock during the segment, in seconds (see
    #: :class:`_CameraClock`), and how it was measured: "rtcp", "stream", or "" (not measured).
    clock_offset: float | None = None
    clock_source: str = ""

    @property
    def duration(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Gap:
    """A period without recording; ``end`` is None while the stream is still down."""

    start: dt.datetime
    end: dt.datetime | None
    reason: str


class SegmentSink(Protocol):
    """Receives what a recorder produces; called from the recording thread, in order."""

    def segment(self, segment: Segment) -> None: ...

    def gap(self, gap: Gap) -> None: ...


@dataclass(frozen=True)
class RemuxSettings:
    """How a stream is cut and how hard the recorder tries to keep it."""

    segment_seconds: float = 60.0
    open_timeout: float = 10.0
    # No packet for this long counts as a lost connection.
    read_timeout: float = 5.0
    probe_seconds: float = 1.0
    backoff_initial: float = 1.0
    # Longest wait between two connection attempts: once the camera is back, recording resumes
    # within this (plus the connection and the first key frame).
    backoff_max: float = 3.0
    # Wall-clock start and end come from the stream's own timestamps anchored on their arrival;
    # beyond this much drift from the local clock the anchor is reset at the next segment.
    max_drift: float = 2.0
    # A timestamp that goes back, repeats, or runs ahead of (or, for this long, behind) the
    # arrival clock by more than this many seconds breaks the stream clock: cut the segment.
    max_jump: float = 3.0
    # Transcoded (MJPEG) sources: bounded width and libx264 settings.
    max_width: int = 1280
    x264_preset: str = "veryfast"
    x264_crf: int = 26

    def __post_init__(self) -> None:
        if self.segment_seconds <= 0:
            raise ValueError("segment_seconds must be positive")
        if self.backoff_initial <= 0 or self.backoff_max < self.backoff_initial:
            raise ValueError("backoff must be positive and backoff_max >= backoff_initial")
        if self.max_jump <= 0:
            raise ValueError("max_jump must be positive")


@dataclass(frozen=True)
class SessionEnd:
    """How one connection ended: when the last segment closed, and why."""

    at: dt.datetime | None
    reason: str
    segments: int
    lost: bool


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class _Arrivals:
    """A live HTTP body for FFmpeg: each read returns what has arrived, without waiting to fill
    FFmpeg's buffer (frames are dated by their arrival)."""

    def __init__(self, response) -> None:
        self._response = response

    def read(self, size: int = -1) -> bytes:
        return self._response.read1(size if size > 0 else 65536)


def _open_source(
    url: str, settings: RemuxSettings, username: str = "", password: str = ""
) -> tuple[av.container.InputContainer, bool, http.client.HTTPResponse | None]:
    """Open ``url`` for reading: the container, whether it is a file to loop at its own pace,
    and the HTTP response it reads from (to close with it), if any."""
    parts = urlsplit(url)
    timeout = (settings.open_timeout, settings.read_timeout)
    if parts.scheme in {"rtsp", "rtsps"}:
        options = {
            "rtsp_transport": "tcp",
            # FFmpeg probes 5 s by default before handing out the first packet; the SDP
            # already names the codec, so that only delays recording after each reconnection.
            "analyzeduration": str(round(settings.probe_seconds * 1_000_000)),
        }
        container = av.open(
            sources.with_credentials(url, username, password), options=options, timeout=timeout
        )
        return container, False, None
    if parts.scheme in {"http", "https"}:
        # Read through our own connection, not FFmpeg's: the login goes in a header and a
        # redirect never leads to another machine.
        response = sources.http_open(
            url, username=username, password=password, timeout=settings.read_timeout
        )
        kind = response.headers.get_content_type()
        try:
            container = av.open(
                _Arrivals(response),
                "r",
                format="mpjpeg" if kind.startswith("multipart/") else None,
            )
        except BaseException:
            response.close()
            raise
        return container, False, response
    if parts.scheme == "file":
        return av.open(unquote(parts.path)), True, None
    raise ValueError(f"unsupported stream URL scheme {parts.scheme!r}")


class _Writer:
    """One segment being written into memory by the MP4 muxer."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.container = av.open(self.buffer, "w", format="mp4", options=MP4_OPTIONS)
        self.frames = 0

    def close(self) -> bytes:
        self.container.close()
        return self.buffer.getvalue()


class _Clock:
    """Maps stream time (seconds) to wall-clock UTC (seconds since the epoch) for one run of
    consistent stream timestamps.

    A packet never arrives before it was captured, so the smallest ``arrival - stream time``
    seen so far is the best estimate of the offset: probing bursts and network stalls only
    ever make packets late. A camera clock slower than ours shows up as a minimum that keeps
    growing over a whole segment; past ``max_drift`` the offset follows it. A timestamp that
    cannot belong to the same clock (see :meth:`fault`) ends the run: the caller starts a new
    ``_Clock``.
    """

    def __init__(self, max_drift: float, max_jump: float = math.inf) -> None:
        self.max_drift = max_drift
        self.max_jump = max_jump
        self.offset: float | None = None
        self._window = math.inf
        self._previous: float | None = None
        self._late_since: float | None = None

    def fault(self, stream_seconds: float, arrival: float) -> str | None:
        """Why this timestamp breaks the run of the previous ones, or None when it follows."""
        previous = self._previous
        if previous is None or self.offset is None:
            return None
        if stream_seconds < previous:
            return f"backward jump of {previous - stream_seconds:.3f} s"
        if stream_seconds == previous:
            return "repeated timestamp"
        lag = arrival - stream_seconds
        if self.offset - lag > self.max_jump:
            return f"forward jump of {self.offset - lag:.3f} s"
        # Late arrivals happen (network, a busy machine); late for long is a clock running slow.
        if lag - self.offset > self.max_jump:
            if self._late_since is None:
                self._late_since = arrival
            elif arrival - self._late_since >= self.max_jump:
                return f"stream clock {lag - self.offset:.3f} s behind arrival"
        else:
            self._late_since = None
        return None

    def observe(self, stream_seconds: float, arrival: float | None = None) -> None:
        lag = (time.time() if arrival is None else arrival) - stream_seconds
        self._previous = stream_seconds
        self._window = min(self._window, lag)
        if self.offset is None or lag < self.offset:
            self.offset = lag

    def roll(self) -> None:
        """Close an observation window (a segment): follow a camera clock that runs slow."""
        if self.offset is not None and self._window - self.offset > self.max_drift:
            logger.info("stream clock drifted %.1f s; re-anchoring", self._window - self.offset)
            self.offset = self._window
        self._window = math.inf

    def wall(self, stream_seconds: float) -> float:
        if self.offset is None:  # nothing observed yet: take the present as its time
            self.offset = time.time() - stream_seconds
        return self.offset + stream_seconds


class _CameraClock:
    """The camera's own clock against the arrival clock: one figure per segment.

    The recorder dates images by their arrival; the camera dates them by its own clock (the
    time it prints in the picture, and its RTP timestamps). Within a segment the smallest
    ``arrival - stream time`` is the packet least delayed by the network. When the camera sends
    RTCP sender reports, FFmpeg dates the stream's time zero on the camera's clock
    (``start_time_realtime``): the camera's clock minus arrival is then that date minus the
    smallest lag (source "rtcp"). Without them only the progression can be measured: how far
    the stream's timestamps drifted from arrival since the connection opened (source "stream").
    """

    def __init__(self, container: Any) -> None:
        self.container = container
        self._anchor: float | None = None
        self._window = math.inf

    def observe(self, stream_seconds: float, arrival: float) -> None:
        self._window = min(self._window, arrival - stream_seconds)

    def measure(self) -> tuple[float | None, str]:
        """The figure of the segment that closes (camera minus arrival, seconds), and its source."""
        lag, self._window = self._window, math.inf
        if lag == math.inf:
            return None, ""
        realtime = getattr(self.container, "start_time_realtime", None)
        if realtime:  # microseconds since the epoch, on the camera's clock, of stream time zero
            return realtime / 1e6 - lag, "rtcp"
        if self._anchor is None:
            self._anchor = lag
        return self._anchor - lag, "stream"


class Remuxer:
    """Records one connection to a source into segments handed to a sink."""

    def __init__(
        self,
        url: str,
        sink: SegmentSink,
        settings: RemuxSettings | None = None,
        stop: threading.Event | None = None,
        *,
        username: str = "",
        password: str = "",
    ) -> None:
        self.url = url
        self._login = (username, password)
        self.sink = sink
        self.settings = settings or RemuxSettings()
        self.stop = stop or threading.Event()
        # Set by record(): the gap this connection closes with its first segment, and whether
        # the sink was already told of it (an outage) or not (the wait for a first key frame).
        self.open_gap: Gap | None = None
        self.gap_reported = False
        self.not_before: float | None = None
        self._segments = 0
        self._last_end: float | None = None

    # -- public -------------------------------------------------------------------------------

    def run(self) -> SessionEnd:
        """Record until the stop event, the end of the stream or a lost connection."""
        _reading.stop = self.stop  # a blocking read of this thread ends when it is set
        try:
            container, looped, response = _open_source(self.url, self.settings, *self._login)
        except sources.SourceError as exc:
            return self._end(f"cannot open stream: {exc}", lost=True)
        except (av.error.FFmpegError, OSError) as exc:
            return self._end(f"cannot open stream: {self._describe(exc)}", lost=True)
        try:
            if not container.streams.video:
                return self._end("no video stream in source", lost=True)
            stream = container.streams.video[0]
            if stream.codec_context.name in COPY_CODECS:
                return self._copy(container, stream, looped)
            return self._transcode(container, stream, looped)
        finally:
            container.close()
            if response is not None:
                response.close()

    # -- helpers ------------------------------------------------------------------------------

    def _describe(self, exc: BaseException) -> str:
        """The error in words for the gap, lease and log: never the address FFmpeg opened."""
        return sources.describe(exc, (self._login[1],))

    def _end(self, reason: str, *, lost: bool) -> SessionEnd:
        at = _utc(self._last_end) if self._last_end is not None else None
        return SessionEnd(at=at, reason=reason, segments=self._segments, lost=lost)

    def _emit(
        self,
        writer: _Writer,
        start: float,
        end: float,
        meta: dict,
        closed_by: str,
        clock: tuple[float | None, str] = (None, ""),
    ) -> None:
        data = writer.close()
        if writer.frames == 0:
            return
        # A segment never starts before the previous one ended (no overlap), nor before the
        # previous connection's last segment; the first one after an outage closes the gap.
        if self._last_end is not None:
            start = max(start, self._last_end)
        if self.not_before is not None:
            start = max(start, self.not_before)
        end = max(end, start + 0.001)  # never ends where it starts: the index refuses that
        if self.open_gap is not None:
            gap_start = self.open_gap.start
            if not self.gap_reported:
                # Waiting for a key frame: the arrival of the first frame skipped may come
                # after the estimated capture time of the key frame (probing delivers late).
                gap_start = min(gap_start, _utc(start))
            if self.gap_reported or gap_start < _utc(start):
                self.sink.gap(Gap(gap_start, _utc(start), self.open_gap.reason))
            self.open_gap = None
            self.gap_reported = False
        self._segments += 1
        self._last_end = end
        self.sink.segment(
            Segment(
                data=data,
                start=_utc(start),
                end=_utc(end),
                frames=writer.frames,
                closed_by=closed_by,
                clock_offset=clock[0],
                clock_source=clock[1],
                **meta,
            )
        )

    def _pace(self, wall: float) -> None:
        """Hold a looped file back to real time, as a camera would send it."""
        delay = wall - time.time()
        if delay > 0:
            self.stop.wait(delay)

    def _demux(
        self, container: av.container.InputContainer, stream: av.VideoStream, looped: bool
    ) -> Iterator[tuple[av.Packet, int, int]]:
        """Packets of ``stream`` with continuous (dts, pts) in ticks, looping files forever."""
        offset = 0
        while True:
            first: int | None = None
            last = 0
            step = 1
            # RTSP often delivers the very first key frame before any timestamp is known:
            # hold such packets and date them back from the first timestamped one.
            held: list[av.Packet] = []
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                dts = packet.dts if packet.dts is not None else packet.pts
                if dts is None:
                    if first is None:
                        if len(held) < 64:
                            held.append(packet)
                        continue
                    dts = last + step
                pts = packet.pts if packet.pts is not None else dts
                step = packet.duration or step
                if first is None:
                    for back, early in enumerate(held, start=-len(held)):
                        early_dts = dts + back * (early.duration or step)
                        yield early, early_dts + offset, early_dts + offset
                    first = dts - len(held) * step
                    held.clear()
                last = dts
                yield packet, dts + offset, pts + offset
                if self.stop.is_set():
                    return
            if not looped or first is None:
                return
            container.seek(0)
            offset += last + step - first

    def _copy(
        self, container: av.container.InputContainer, stream: av.VideoStream, looped: bool
    ) -> SessionEnd:
        settings = self.settings
        tb = stream.time_base
        assert tb is not None  # FFmpeg dates every stream it demuxes
        clock = _Clock(settings.max_drift, settings.max_jump)
        camera_clock = _CameraClock(container)
        codec = stream.codec_context
        meta: dict[str, Any] = {
            "codec": codec.name,
            "width": codec.width,
            "height": codec.height,
            "transcoded": False,
        }
        writer: _Writer | None = None
        out_stream = None
        seg_clock = clock  # the run of stream timestamps the open segment started in
        seg_seconds = 0.0
        base = 0
        prev_dts: int | None = None
        frame_ticks = 0
        # The stream clock broke inside the open segment: its frames are timed one frame apart
        # from there, and it closes at the next key frame.
        broken = False
        try:
            for packet, ticks, pts_ticks in self._demux(container, stream, looped):
                seconds = float(ticks * tb)
                if looped:
                    self._pace(clock.wall(seconds))
                arrival = time.time()
                fault = clock.fault(seconds, arrival)
                if fault is not None:
                    logger.warning("stream clock fault (%s): cutting at the next key frame", fault)
                    clock = _Clock(settings.max_drift, settings.max_jump)
                    broken = writer is not None
                clock.observe(seconds, arrival)
                camera_clock.observe(seconds, arrival)
                if writer is None and not packet.is_keyframe:
                    # A segment must be decodable on its own. Joining between two key frames,
                    # the wait for the first one is a gap (unless an outage already covers it).
                    if self._segments == 0 and self.open_gap is None:
                        self.open_gap = Gap(_utc(arrival), None, WAITING_FOR_KEY_FRAME)
                    continue
                if packet.is_keyframe and (
                    writer is None
                    or broken
                    or seconds - seg_seconds >= settings.segment_seconds - _CUT_SLACK
                ):
                    if writer is not None:
                        start = seg_clock.wall(seg_seconds)
                        if broken:
                            assert prev_dts is not None
                            end = start + float((prev_dts + frame_ticks) * tb)
                            closed_by = "clock_fault"
                        else:
                            # Both ends from the same offset: back to back, whatever it is.
                            end = seg_clock.wall(seconds)
                            closed_by = "length"
                        self._emit(writer, start, end, meta, closed_by, camera_clock.measure())
                        seg_clock.roll()
                    writer = _Writer()
                    out_stream = writer.container.add_stream_from_template(stream)
                    if not meta["width"]:
                        # Joined between two key frames, the probe saw no picture: its size
                        # comes from the first key frame (decoded once).
                        meta["width"], meta["height"] = _picture_size(stream, packet)
                    out_stream.codec_context.width = meta["width"]
                    out_stream.codec_context.height = meta["height"]
                    seg_clock, seg_seconds = clock, seconds
                    base, prev_dts, broken = ticks, None, False
                assert writer is not None and out_stream is not None
                if broken:
                    assert prev_dts is not None
                    dts = prev_dts + frame_ticks
                    pts = dts + max(0, pts_ticks - ticks)
                else:
                    dts = ticks - base
                    pts = max(pts_ticks - base, dts)
                    # The frame interval as the stream really runs; what re-timed frames use.
                    if prev_dts is not None:
                        frame_ticks = dts - prev_dts
                    frame_ticks = frame_ticks or packet.duration or self._nominal_ticks(stream)
                packet.dts, packet.pts = dts, pts
                prev_dts = dts
                packet.stream = out_stream
                writer.container.mux(packet)
                writer.frames += 1
                if self.stop.is_set():
                    break
        except (av.error.FFmpegError, OSError) as exc:
            reason = f"connection lost: {self._describe(exc)}"
        else:
            reason = "stopped" if self.stop.is_set() else "connection closed by the source"
        lost = not self.stop.is_set()
        if writer is not None:
            assert prev_dts is not None
            start = seg_clock.wall(seg_seconds)
            end = start + float((prev_dts + frame_ticks) * tb)
            closed_by = "connection_lost" if lost else "stopped"
            self._emit(writer, start, end, meta, closed_by, camera_clock.measure())
        return self._end(reason, lost=lost)

    @staticmethod
    def _nominal_ticks(stream: av.VideoStream) -> int:
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        assert stream.time_base is not None  # FFmpeg dates every stream it demuxes
        return max(1, round(1 / (rate * stream.time_base)))

    def _transcode(
        self, container: av.container.InputContainer, stream: av.VideoStream, looped: bool
    ) -> SessionEnd:
        settings = self.settings
        clock = _Clock(settings.max_drift)
        source_codec = stream.codec_context.name
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        writer: _Writer | None = None
        out_stream = None
        meta: dict = {}
        seg_start = 0.0
        last_wall = 0.0
        last_ms = -1
        try:
            for packet, ticks, _pts in self._demux(container, stream, looped):
                for frame in packet.decode():
                    if looped:
                        assert stream.time_base is not None  # a file's stream is dated
                        wall = clock.wall(float(ticks * stream.time_base))
                        self._pace(wall)
                    else:
                        # MJPEG over HTTP carries no usable timestamps: arrival time is the
                        # best measure of when the camera took the picture.
                        wall = time.time()
                    if writer is None or wall - seg_start >= settings.segment_seconds - _CUT_SLACK:
                        if writer is not None:
                            self._flush(writer, out_stream)
                            self._emit(writer, seg_start, wall, meta, "length")
                        width, height = _bounded_size(frame.width, frame.height, settings)
                        meta = {
                            "codec": "h264",
                            "width": width,
                            "height": height,
                            "transcoded": True,
                        }
                        writer = _Writer()
                        out_stream = writer.container.add_stream(
                            "libx264",
                            rate=rate,
                            options={
                                "preset": settings.x264_preset,
                                "tune": "zerolatency",
                                "crf": str(settings.x264_crf),
                            },
                        )
                        out_stream.width, out_stream.height = width, height
                        out_stream.pix_fmt = "yuv420p"
                        out_stream.time_base = _ENCODER_TIME_BASE
                        out_stream.codec_context.time_base = _ENCODER_TIME_BASE
                        # A key frame every ~2 s keeps playback seeks short.
                        out_stream.codec_context.gop_size = max(1, round(float(rate) * 2))
                        seg_start = wall
                        last_ms = -1
                    assert out_stream is not None
                    image = frame.reformat(
                        width=meta["width"], height=meta["height"], format="yuv420p"
                    )
                    ms = max(last_ms + 1, round((wall - seg_start) * 1000))
                    image.pts, image.time_base = ms, _ENCODER_TIME_BASE
                    last_ms, last_wall = ms, wall
                    for encoded in out_stream.encode(image):
                        writer.container.mux(encoded)
                    writer.frames += 1
                if self.stop.is_set():
                    break
        except (av.error.FFmpegError, OSError) as exc:
            reason = f"connection lost: {self._describe(exc)}"
        else:
            reason = "stopped" if self.stop.is_set() else "connection closed by the source"
        lost = not self.stop.is_set()
        if writer is not None:
            self._flush(writer, out_stream)
            end = last_wall + float(1 / rate)
            closed_by = "connection_lost" if lost else "stopped"
            self._emit(writer, seg_start, end, meta, closed_by)
        logger.debug("transcoded %s source ended: %s", source_codec, reason)
        return self._end(reason, lost=lost)

    @staticmethod
    def _flush(writer: _Writer, out_stream: av.VideoStream | None) -> None:
        if out_stream is not None:
            for encoded in out_stream.encode(None):
                writer.container.mux(encoded)


def _picture_size(stream: av.VideoStream, key_frame: av.Packet) -> tuple[int, int]:
    """Width and height of a key frame's picture (0, 0 when it does not decode)."""
    # A video stream's codec: its context decodes pictures (the stubs type it by name).
    decoder = cast(av.VideoCodecContext, av.CodecContext.create(stream.codec_context.name, "r"))
    decoder.extradata = stream.codec_context.extradata
    try:
        for frame in [*decoder.decode(key_frame), *decoder.decode(None)]:
            return frame.width, frame.height
    except av.error.FFmpegError:
        pass
    return 0, 0


def _bounded_size(width: int, height: int, settings: RemuxSettings) -> tuple[int, int]:
    """The encode size: at most ``max_width`` wide, aspect kept, even sides (4:2:0)."""
    if width > settings.max_width:
        height = math.floor(height * settings.max_width / width)
        width = settings.max_width
    return max(2, width - width % 2), max(2, height - height % 2)


def record(
    url: str,
    sink: SegmentSink,
    *,
    stop: threading.Event,
    settings: RemuxSettings | None = None,
    username: str = "",
    password: str = "",
    source: Callable[[], tuple[str, str, str]] | None = None,
) -> None:
    """Record ``url`` into ``sink`` until ``stop`` is set, reconnecting with backoff.

    ``url`` carries no login: ``username`` and ``password`` are handed to the source apart.
    ``source``, when given, is asked before every connection (the first one too) for the
    (address, username, password) to open then; it raises to end the recording.

    When a connection is lost the open segment is closed and handed over, then
    ``sink.gap(Gap(start, None, reason))`` reports the outage at once; when recording resumes
    the same gap is reported again with its end (the start of the next segment). The wait for
    the first key frame of a stream joined between two is reported once, closed. Attempts are
    at most ``settings.backoff_max`` apart, so that an outage of N seconds costs about N plus
    that much footage.
    """
    settings = settings or RemuxSettings()
    delay = settings.backoff_initial
    jitter = secrets.SystemRandom()
    open_gap: Gap | None = None
    last_end: float | None = None
    while not stop.is_set():
        if source is not None:
            url, username, password = source()
        remuxer = Remuxer(url, sink, settings, stop, username=username, password=password)
        remuxer.open_gap = open_gap
        remuxer.gap_reported = open_gap is not None
        remuxer.not_before = last_end
        outcome = remuxer.run()
        open_gap = remuxer.open_gap
        if outcome.at is not None:
            last_end = outcome.at.timestamp()
        if stop.is_set():
            return
        if outcome.segments:
            delay = settings.backoff_initial
        if open_gap is None or not remuxer.gap_reported:
            # Lost while waiting for a first key frame, the outage starts where the wait did.
            start = open_gap.start if open_gap else (outcome.at or _utc(time.time()))
            open_gap = Gap(start=start, end=None, reason=outcome.reason)
            sink.gap(open_gap)
        logger.warning(
            "stream %s: %s; retrying in %.1f s", sources.public_url(url), outcome.reason, delay
        )
        # Jitter spreads the reconnections of many cameras behind one failed switch; it only
        # shortens the wait, so that backoff_max stays the longest.
        stop.wait(delay * jitter.uniform(0.8, 1.0))
        delay = min(delay * 2, settings.backoff_max)
