"""A real RTSP camera for the tests: GStreamer's RTSP server, run by Debian's /usr/bin/python3.

Usage: rtsp_server.py PORT [CLIP.mp4] [--auth basic|digest]. With a clip, it serves the clip's
H.264 and AAC tracks at real time (each client gets the clip from its start); without, a live
test pattern plus a tone. With ``--auth``, the mount answers 401 Unauthorized unless the client
gives the login and password found in the environment (RTSP_USER, RTSP_PASSWORD: kept out of
the command line). Prints ``READY <port>`` once listening, and serves until killed.
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


def main() -> None:
    args = sys.argv[1:]
    method = None
    if "--auth" in args:
        at = args.index("--auth")
        method = args[at + 1]
        del args[at : at + 2]
    port = args[0]
    launch = CLIP.format(path=args[1]) if len(args) > 1 else LIVE
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    if method:
        _require_login(server, factory, method)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
