"""A real RTSP camera for the tests: GStreamer's RTSP server, run by Debian's /usr/bin/python3.

Usage: rtsp_server.py PORT [CLIP.mp4 | --clock] [--auth basic|digest]. With a clip, it serves
the clip's H.264 and AAC tracks at real time (each client gets the clip from its start); without,
a live test pattern plus a tone. With ``--clock``, a 640x360 picture at 10 fps that carries its
own capture time (see ``clock_frame``), for glass-to-glass latency tests. With ``--auth``, the
mount answers 401 Unauthorized unless the client gives the login and password found in the
environment (RTSP_USER, RTSP_PASSWORD: kept out of the command line). Prints ``READY <port>``
once listening, and serves until killed.
"""

from __future__ import annotations

import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

LIVE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=12/1"
    " ! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=12 ! h264parse"
    " ! rtph264pay name=pay0 pt=96 config-interval=1"
    " audiotestsrc is-live=true ! audioconvert ! avenc_aac ! rtpmp4gpay name=pay1 pt=97 )"
)
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


def main() -> None:
    args = sys.argv[1:]
    method = None
    if "--auth" in args:
        at = args.index("--auth")
        method = args[at + 1]
        del args[at : at + 2]
    port = args[0]
    clock = len(args) > 1 and args[1] == "--clock"
    launch = LIVE
    if clock:
        launch = CLOCK
    elif len(args) > 1:
        launch = CLIP.format(path=args[1])
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
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
