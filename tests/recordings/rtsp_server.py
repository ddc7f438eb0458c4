"""A real RTSP camera for the tests: GStreamer's RTSP server, run by Debian's /usr/bin/python3.

Usage: rtsp_server.py PORT [CLIP.mp4 | --clock] [--auth basic|digest]. With a clip, it serves
the clip's H.264 and AAC tracks at real time (each client gets the clip from its start); without,
a live test pattern plus a tone. With ``--clock``, a 640x360 picture at 10 fps that carries its
own capture time (see ``clock_frame``), for glass-to-glass latency tests. With ``--auth``, the
mount answers 401 Unauthorized unless the client gives the login and password found in the
environment (RTSP_USER, RTSP_PASSWORD: kept out of the command line). Prints ``READY <port>``
once listening, and serves until killed.

Cameras that misbehave, for the recorder's tests, are chosen by environment variables (so that
the command line stays the same):

- ``RTSP_TEST_CODEC``: ``h264`` (default) or ``h265``, for the live test pattern;
- ``RTSP_TEST_GOP``: frames between key frames of the live pattern (default 12, one per second);
- ``RTSP_TEST_SHARED=1``: one pipeline for every client (then a client that joins makes the
  timestamps of those already connected restart from zero, as some firmware does);
- ``RTSP_TEST_FAULT``: clock faults of the video timestamps, ``KIND@T`` or ``KIND@T:SECONDS``
  (several separated by commas) with T the stream time in seconds at which each happens:
  ``reset`` (timestamps restart from where they started), ``jump`` (they leap SECONDS
  forward), ``back`` (they step SECONDS back), ``duplicate`` (one frame carries the timestamp
  of the one before), ``join`` (first in the list: the video before T is not sent, as to a
  client that joins the stream between two key frames), ``rate`` (from T the camera's clock
  runs at SECONDS times real time: ``rate@0:0.5`` loses half a second every second, a camera
  clock that drifts).
"""

from __future__ import annotations

import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

CLIP = (
    "( filesrc location={path} ! qtdemux name=d"
    " d.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"
    " d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )"
)
ROLE = "camera-user"


def _require_login(server, factory, method: str) -> None:
    """Only the login and password of the environment open the mount (else 401)."""
    user, password = os.environ["RTSP_USER"], os.environ["RTSP_PASSWORD"]
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    if method == "digest":
        auth.add_digest(user, password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    else:
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
    )
    factory.set_permissions(permissions)


CLOCK = (
    "( appsrc name=src is-live=true do-timestamp=true format=time"
    " caps=video/x-raw,format=I420,width=640,height=360,framerate=10/1"
    " ! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=10 ! h264parse"
    " ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
CLOCK_W, CLOCK_H = 640, 360
GREY, BRIGHT, WHITE, BLACK = 100, 220, 235, 16


def clock_frame(index: int, now_ms: int) -> bytes:
    """One I420 picture: grey; the lower-left quarter-and-more bright (the area tests mask);
    a white square moving across the lower right; the capture time (ms since the epoch,
    modulo 2^32) as 32 blocks of 20x20 px (white = 1, most significant bit first), two rows of
    16 from x=320, y=20."""
    value = now_ms % 2**32
    bits = [(value >> (31 - i)) & 1 for i in range(32)]
    grey_half = bytes([GREY]) * (CLOCK_W // 2)
    clock_rows = [
        grey_half
        + b"".join(bytes([WHITE if b else BLACK]) * 20 for b in bits[r * 16 : r * 16 + 16])
        for r in range(2)
    ]
    square_x = 330 + (index * 10) % 240
    plain = bytes([GREY]) * CLOCK_W
    bright_left = bytes([BRIGHT]) * (CLOCK_W // 2)
    rows = []
    for y in range(CLOCK_H):
        if 20 <= y < 60:
            rows.append(clock_rows[(y - 20) // 20])
        elif y >= 120:
            right = bytearray(grey_half)
            if 200 <= y < 260:
                right[square_x - 320 : square_x - 320 + 60] = bytes([WHITE]) * 60
            rows.append(bright_left + bytes(right))
        else:
            rows.append(plain)
    chroma = bytes([128]) * (CLOCK_W * CLOCK_H // 2)
    return b"".join(rows) + chroma


def _feed_clock(media) -> None:
    import time

    source = media.get_element().get_child_by_name("src")
    counter = [0]

    def push() -> bool:
        data = clock_frame(counter[0], int(time.time() * 1000))
        counter[0] += 1
        return source.emit("push-buffer", Gst.Buffer.new_wrapped(data)) == Gst.FlowReturn.OK

    GLib.timeout_add(100, push)


LIVE_VIDEO = {
    "h264": "x264enc speed-preset=ultrafast tune=zerolatency key-int-max={gop} ! h264parse"
    " ! rtph264pay name=pay0 pt=96 config-interval=1",
    "h265": "x265enc speed-preset=ultrafast tune=zerolatency key-int-max={gop}"
    " ! video/x-h265,profile=main ! h265parse ! rtph265pay name=pay0 pt=96 config-interval=1",
}


def live_launch() -> str:
    """The live pattern with the codec and GOP the environment asks for."""
    codec = os.environ.get("RTSP_TEST_CODEC", "h264")
    gop = int(os.environ.get("RTSP_TEST_GOP", "12"))
    return (
        "( videotestsrc is-live=true pattern=ball"
        " ! video/x-raw,format=I420,width=320,height=240,framerate=12/1 ! "
        + LIVE_VIDEO[codec].format(gop=gop)
        + " audiotestsrc is-live=true ! audioconvert ! avenc_aac ! rtpmp4gpay name=pay1 pt=97 )"
    )


class ClockFault:
    """A pad probe on the video payloader that rewrites buffer timestamps as a faulty camera.

    Several faults, separated by commas, add up in order. A forward jump is only seen on the
    wire after a backward one (``back@6:5,jump@10:5``): the server paces its output on the
    timestamps, so timestamps ahead of the present would hold the stream back instead.
    """

    KINDS = frozenset({"reset", "jump", "back", "duplicate", "join", "rate"})

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.runs = 0
        #: (from when, factor): the clock runs slow (below 1) from then on.
        self.rate: tuple[int, float] | None = None
        self.arm()

    def arm(self) -> None:
        """Faults to come, from the stream's start (again when the server restarts it)."""
        spec = self.spec
        self.runs += 1
        self.faults: list[tuple[str, int, int]] = []
        for part in spec.split(","):
            kind, _, rest = part.partition("@")
            at, _, amount = rest.partition(":")
            if kind not in self.KINDS:
                raise SystemExit(f"unknown clock fault {kind!r}")
            if kind == "rate":
                self.rate = (int(float(at) * Gst.SECOND), float(amount))
                continue
            self.faults.append(
                (kind, int(float(at) * Gst.SECOND), int(float(amount or 0) * Gst.SECOND))
            )
        self.shift = 0
        self.previous: tuple[int, int] | None = None
        # The stream's zero: the payloader cannot time a buffer before its segment's start.
        self.origin: int | None = None
        self.last: int | None = None

    def attach(self, _factory, media) -> None:
        pay = media.get_element().get_by_name("pay0")
        pay.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self.probe)

    def probe(self, _pad, info):
        buffer = info.get_buffer()
        pts, dts = buffer.pts, buffer.dts
        if pts == Gst.CLOCK_TIME_NONE:
            return Gst.PadProbeReturn.OK
        if self.last is not None and pts <= self.last:
            self.arm()  # the server prerolls the stream, then plays it again from its start
        self.last = pts
        if self.origin is None:
            self.origin = pts
        # Not while the server prerolls the stream: that gives the SDP the parameter sets (as
        # a camera's SDP has them), which a client joining later needs.
        if self.faults and self.faults[0][0] == "join" and self.runs > 1:
            if pts - self.origin < self.faults[0][1]:
                return Gst.PadProbeReturn.DROP  # not sent: the client joins in the GOP
            self.faults.pop(0)
        if self.rate is not None and pts - self.origin > self.rate[0]:
            # Only slower: timestamps ahead of the present would hold the stream back.
            lost = int((pts - self.origin - self.rate[0]) * (1 - self.rate[1]))
            pts -= lost
            dts = dts - lost if dts != Gst.CLOCK_TIME_NONE else dts
        shifted = (pts + self.shift, dts + self.shift if dts != Gst.CLOCK_TIME_NONE else dts)
        while self.faults and pts - self.origin >= self.faults[0][1]:
            kind, _at, amount = self.faults.pop(0)
            if kind == "duplicate" and self.previous is not None:
                shifted = self.previous
                continue
            if kind == "reset":
                self.shift = self.origin - pts
            elif kind == "jump":
                self.shift += amount
            elif kind == "back":
                self.shift -= min(amount, pts + self.shift - self.origin)
            shifted = (pts + self.shift, dts + self.shift if dts != Gst.CLOCK_TIME_NONE else dts)
        buffer.pts = max(self.origin, shifted[0])
        if shifted[1] != Gst.CLOCK_TIME_NONE:
            buffer.dts = max(self.origin, shifted[1])
        self.previous = (buffer.pts, buffer.dts)
        return Gst.PadProbeReturn.OK


def configure(factory) -> None:
    """Apply the misbehaviours named in the environment (see the module's docstring)."""
    factory.set_shared(os.environ.get("RTSP_TEST_SHARED") == "1")
    fault = os.environ.get("RTSP_TEST_FAULT")
    if fault:
        factory.connect("media-configure", ClockFault(fault).attach)


def main() -> None:
    args = sys.argv[1:]
    method = None
    if "--auth" in args:
        at = args.index("--auth")
        method = args[at + 1]
        del args[at : at + 2]
    port = args[0]
    clock = len(args) > 1 and args[1] == "--clock"
    if clock:
        launch = CLOCK
    elif len(args) > 1:
        launch = CLIP.format(path=args[1])
    else:
        launch = live_launch()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    if method:
        _require_login(server, factory, method)
    if clock:
        factory.connect("media-configure", lambda _factory, media: _feed_clock(media))
    configure(factory)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
