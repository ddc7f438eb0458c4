"""A real RTSP camera for the tests: GStreamer's RTSP server, run by Debian's /usr/bin/python3.

Usage: rtsp_server.py PORT [CLIP.mp4]. With a clip, it serves the clip's H.264 and AAC tracks
at real time (each client gets the clip from its start); without, a live test pattern plus a
tone. Prints ``READY <port>`` once listening, and serves until killed.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

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


def main() -> None:
    port = sys.argv[1]
    launch = CLIP.format(path=sys.argv[2]) if len(sys.argv) > 2 else LIVE
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
