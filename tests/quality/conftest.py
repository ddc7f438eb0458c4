"""Fixtures of the quality gate: recorded footage, signed-in browsers, screenshots on failure."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from csu.celery import app

#: Kept by CI (.ci/run) when a journey fails: one PNG per step of the failed test.
ARTIFACTS = Path("test-artifacts")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class Steps:
    """Screenshots of each step of a browser journey, written to disk only if the test fails."""

    def __init__(self) -> None:
        self.shots: list[tuple[str, bytes]] = []
        self.pages: list = []

    def __call__(self, name: str, page) -> None:
        self.shots.append((name, page.screenshot(full_page=True)))
        if page not in self.pages:
            self.pages.append(page)

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for index, (name, png) in enumerate(self.shots, start=1):
            (folder / f"{index:02d}-{name}.png").write_bytes(png)
        for index, page in enumerate(self.pages, start=1):
            try:
                (folder / f"zz-last-page-{index}.png").write_bytes(page.screenshot(full_page=True))
            except Exception:  # noqa: S112 - the browser may already be gone
                continue


@pytest.fixture
def steps(request) -> Iterator[Steps]:
    recorder = Steps()
    yield recorder
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        recorder.write(ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.nodeid))


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def record_camera(tmp_path: Path, code: str = "CAM-Q1", seconds: float = 4.5):
    """A file:// camera recorded for a few seconds by the real recorder (1 s segments)."""
    from cameras.models import Camera
    from recordings import remux
    from recordings.models import Segment
    from recordings.recorder import run_recorder
    from tests.cameras.factories import AuthorizationFactory
    from tests.recordings.media import h264_clip

    clip = h264_clip(tmp_path / f"{code}.mp4", seconds=2, gop=6, audio=False)
    camera = Camera.objects.create(
        code=code,
        name="Rue de Boigne",
        address="12 rue de Boigne, Chambéry",
        sector="centre",
        kind="fixe",
        authorization=AuthorizationFactory(),
        stream_url=f"file://{clip}",
    )
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        run_recorder(
            camera.pk,
            "quality-recorder",
            stop=stop,
            remux_settings=remux.RemuxSettings(segment_seconds=1.0),
            renew_every=0.5,
        )
    finally:
        timer.cancel()
    assert Segment.objects.filter(camera=camera).count() >= 3
    return camera


@pytest.fixture
def recorded_camera(tmp_path):
    return record_camera(tmp_path)
