"""Real video sources for the camera tests: tiny generated clips and an MJPEG server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import pytest

from cameras.demo import BLACK, MOTION, STILL, render_frame, write_clip


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Two-second 160×90 clips at 12 images per second: moving, black and still."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        scene: write_clip(
            folder / f"{scene}.mp4", label="TEST", scene=scene, seconds=2, size=(160, 90)
        )
        for scene in (MOTION, BLACK, STILL)
    }


class _MjpegHandler(BaseHTTPRequestHandler):
    fps = 12

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/snapshot.jpg"):
            frame = render_frame(0, fps=self.fps, size=(160, 90), label="HTTP", scene=STILL, seed=3)
            data = cv2.imencode(".jpg", frame)[1].tobytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        index = 0
        try:
            while index < self.fps * 10:
                frame = render_frame(
                    index, fps=self.fps, size=(160, 90), label="MJPEG", scene=MOTION, seed=2
                )
                data = cv2.imencode(".jpg", frame)[1].tobytes()
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                    + b"\r\n"
                )
                index += 1
                time.sleep(1 / self.fps)
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.fixture(scope="session")
def mjpeg_server() -> Iterator[str]:
    """An MJPEG camera imitation over HTTP; yields its base address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MjpegHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
