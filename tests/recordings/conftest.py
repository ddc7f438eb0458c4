"""Real stream sources for the recorder tests: an RTSP server, an MJPEG camera, a clip."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import pytest

from recordings.remux import Gap, Segment
from tests import prerequisites
from tests.recordings.media import h264_clip, moving_frame

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class CollectingSink:
    """A SegmentSink that keeps everything and lets a test wait for it."""

    segments: list[Segment] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def segment(self, segment: Segment) -> None:
        with self.changed:
            self.segments.append(segment)
            self.changed.notify_all()

    def gap(self, gap: Gap) -> None:
        with self.changed:
            self.gaps.append(gap)
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float = 15) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"timed out: {len(self.segments)} segments, gaps {self.gaps}")


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 30 s H.264 + AAC clip, 320x240 at 12 fps, key frame every second."""
    return h264_clip(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=30)


class RtspServer:
    """GStreamer's RTSP server in a subprocess, serving the clip at rtsp://127.0.0.1:PORT/cam.

    Without a clip it serves a live test pattern; ``env`` chooses how that camera misbehaves
    (``RTSP_TEST_*``, see rtsp_server.py).
    """

    def __init__(self, clip: Path | None, **env: str) -> None:
        self.clip = clip
        self.env = env
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        clip = [str(self.clip)] if self.clip is not None else []
        # GStreamer's messages go to a file: a full pipe would block the server.
        with tempfile.TemporaryFile("w+") as errors:
            self.process = subprocess.Popen(
                [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port), *clip],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env={**os.environ, **self.env},
            )
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            if not line.startswith("READY"):
                self.stop()
                errors.seek(0)
                raise RuntimeError(f"RTSP server did not start: {line} {errors.read()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@pytest.fixture
def rtsp_server(clip) -> Iterator[RtspServer]:
    prerequisites.require_rtsp_server()
    server = RtspServer(clip)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_camera() -> Iterator[Callable[..., RtspServer]]:
    """Starts live RTSP cameras (a 320x240 12 fps test pattern) that misbehave as asked:
    ``live_camera(RTSP_TEST_FAULT="reset@4")`` (options in rtsp_server.py)."""
    prerequisites.require_rtsp_server()
    servers: list[RtspServer] = []

    def start(**env: str) -> RtspServer:
        server = RtspServer(None, **env)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class _MjpegHandler(BaseHTTPRequestHandler):
    fps = 12

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        index = 0
        started = time.monotonic()
        try:
            while not self.server.stopping.is_set():
                image = cv2.cvtColor(moving_frame(index, 320, 240), cv2.COLOR_RGB2BGR)
                jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                index += 1
                time.sleep(max(0.0, started + index / self.fps - time.monotonic()))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def mjpeg_url() -> Iterator[str]:
    """An MJPEG camera over HTTP (multipart/x-mixed-replace), 320x240 at 12 fps."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MjpegHandler)
    server.daemon_threads = True
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
    server.stopping.set()
    server.shutdown()
    server.server_close()
