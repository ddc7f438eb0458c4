"""Live tests: a real RTSP camera that paints its own clock, and the ASGI server in a thread."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from cameras.demo import MOTION, write_clip
from csu.asgi import application
from live.pipeline import hub
from tests.recordings.conftest import RTSP_SERVER, SYSTEM_PYTHON, free_port

#: The area of the clock camera's picture that is bright and must arrive black once masked
#: (normalized), the moving square's band, and the clock's blocks (tests/recordings/rtsp_server.py).
MASK = [[0.0, 1 / 3], [0.5, 1 / 3], [0.5, 1.0], [0.0, 1.0]]


@dataclass
class ClockCamera:
    """GStreamer's RTSP server with the clock picture, at a fixed port (it can be restarted)."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port), "--clock"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {line}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


@pytest.fixture
def clock_camera() -> Iterator[ClockCamera]:
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True,
        check=False,
    )
    if check.returncode != 0:
        pytest.skip("GStreamer RTSP server bindings missing (.ci/run installs them)")
    camera = ClockCamera(free_port())
    camera.start()
    yield camera
    camera.stop()


@pytest.fixture
def fast_live(settings):
    """Short timings so that tests see stops, rechecks and reconnections within seconds."""
    settings.CSU_LIVE_LINGER_SECONDS = 1
    settings.CSU_LIVE_RECHECK_SECONDS = 1
    settings.CSU_LIVE_RETRY_MAX_SECONDS = 1
    settings.CAMERA_CONNECT_TIMEOUT = 2
    yield settings
    hub.stop_all()


@pytest.fixture
def asgi_server(transactional_db, fast_live) -> Iterator[str]:
    """csu.asgi served by uvicorn in a thread: pages and live WebSockets on one origin."""
    port = free_port()
    # Static files from the app folders, as runserver does (no collectstatic in tests).
    config = uvicorn.Config(
        ASGIStaticFilesHandler(application),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """A short moving clip (the demo's street scene), 320x180 at 12 fps."""
    folder = tmp_path_factory.mktemp("live-clips")
    return {"motion": write_clip(folder / "motion.mp4", label="LIVE", scene=MOTION, seconds=3)}
