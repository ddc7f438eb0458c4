"""Recorded footage for the extract's areas: a still checkerboard, written by the recorder."""

from __future__ import annotations

import threading
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from compliance import services
from compliance.models import AccessRequest
from recordings import remux
from recordings.models import Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import CameraFactory

FPS = 12
WIDTH, HEIGHT = 320, 240


def checkerboard_image() -> np.ndarray:
    """16 px squares: sharp edges everywhere, none once blurred (RGB)."""
    squares = (np.indices((HEIGHT, WIDTH)) // 16).sum(axis=0) % 2
    return np.repeat((squares * 200 + 30).astype(np.uint8)[:, :, None], 3, axis=2)


def checkerboard_clip(path: Path, seconds: float = 2) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = 6
        for index in range(round(seconds * FPS)):
            frame = av.VideoFrame.from_ndarray(checkerboard_image(), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def sharpness(image: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> float:
    """The Laplacian variance of a part of an RGB picture given in 0-1 coordinates."""
    height, width = image.shape[:2]
    part = image[round(y0 * height) : round(y1 * height), round(x0 * width) : round(x1 * width)]
    gray = cv2.cvtColor(np.ascontiguousarray(part), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def recorded_request(tmp_path: Path, dpo, code: str = "CAM-DA-W") -> AccessRequest:
    """A camera filming the checkerboard, recorded 4.5 s in 1 s segments, and an access
    request for 2 s of it."""
    camera = CameraFactory(code=code, stream_url=f"file://{checkerboard_clip(tmp_path / 'c.mp4')}")
    stop = threading.Event()
    timer = threading.Timer(4.5, stop.set)
    timer.start()
    try:
        run_recorder(
            camera.pk,
            "test-recorder",
            stop=stop,
            remux_settings=remux.RemuxSettings(segment_seconds=1.0),
            renew_every=0.5,
        )
    finally:
        timer.cancel()
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    start = segments[0].started_at.replace(microsecond=0) + timedelta(seconds=1)
    assert start + timedelta(seconds=2) <= segments[-1].ended_at
    return services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X12345678",
        description="Traverse la place de gauche à droite.",
        place="Place Saint-Léger",
        starts_at=start,
        ends_at=start + timedelta(seconds=2),
        cameras=[camera],
        actor=dpo,
    )
