"""The city soak's RTSP cameras: one GStreamer RTSP server, pre-encoded files, no re-encoding.

Run by Debian's /usr/bin/python3 (GStreamer's Python bindings live there, not in the project's
virtual environment): ``city_rtsp.py PORT MOUNT=FILE.mp4 [MOUNT=FILE.mp4 ...]``. Each mount
serves the video track of its MP4 file (H.264 or H.265, chosen from the file) at real time,
demuxed and packetized only: the server costs little next to the recorders it feeds. Each
client gets the file from its start; the files are made as long as the run (``bench/city.py``
concatenates a short clip with ``ffmpeg -c copy``). Prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse

PIPELINE = {
    "h264": "( filesrc location={path} ! qtdemux ! queue ! h264parse"
    " ! rtph264pay name=pay0 pt=96 config-interval=1 )",
    "h265": "( filesrc location={path} ! qtdemux ! queue ! h265parse"
    " ! rtph265pay name=pay0 pt=96 config-interval=1 )",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port")
    parser.add_argument("mounts", nargs="+", metavar="MOUNT=FILE.mp4")
    args = parser.parse_args()
    port = args.port
    # GStreamer's bindings are Debian's (/usr/bin/python3): imported once the options parsed.
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    mounts = server.get_mount_points()
    for spec in args.mounts:
        mount, path = spec.split("=", 1)
        codec = "h265" if "h265" in mount else "h264"
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(PIPELINE[codec].format(path=path))
        factory.set_shared(False)
        mounts.add_factory(f"/{mount}", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on port {port}")
    print(f"READY {port}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
