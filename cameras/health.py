"""Is the camera working? Image analysis limited to the camera itself, never to people.

A probe reads a couple of seconds of the source and decides one status, the most severe found:
unreachable, black, frozen, moved (against the reference picture), blurred, too few images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import cv2
import numpy as np

from cameras.models import HealthStatus
from cameras.video import SourceError, UndecodableFormat, apply_masks, sample

#: Width at which images are analysed: enough for these measures, cheap on CPU.
ANALYSIS_WIDTH = 320
#: Size of the reference picture kept to detect a displaced camera.
REFERENCE_SIZE = (160, 90)

BLACK_MEAN = 20.0  # mean grey level below which the picture is black...
BLACK_SPREAD = 10.0  # ...when it is also this uniform (standard deviation)
# Median (not maximum: key frames of a frozen stream still differ a little from the others)
# of the mean absolute difference between successive images.
FROZEN_DIFFERENCE = 0.1
BLURRED_SHARPNESS = 12.0  # variance of the Laplacian
MOVED_SIMILARITY = 0.75  # normalized correlation with the reference picture
LOW_RATE_RATIO = 0.6  # of the expected images per second


@dataclass
class Probe:
    status: str
    detail: dict[str, Any] = field(default_factory=dict)
    #: A fresh reference picture (PNG), offered when the view looks normal.
    reference: bytes | None = None


# Both resizes interpolate linearly: the reference pictures already stored were made so.


def _grey(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    if width > ANALYSIS_WIDTH:
        image = cv2.resize(
            image,
            (ANALYSIS_WIDTH, round(height * ANALYSIS_WIDTH / width)),
            interpolation=cv2.INTER_LINEAR,
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _small(image: np.ndarray, polygons: Sequence) -> np.ndarray:
    masked = apply_masks(image.copy(), polygons)
    return cv2.cvtColor(
        cv2.resize(masked, REFERENCE_SIZE, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2GRAY
    )


def similarity(reference_png: bytes, current: np.ndarray) -> float:
    """Normalized correlation (-1 to 1) between the reference and a small grey picture."""
    reference = cv2.imdecode(np.frombuffer(reference_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if reference is None or reference.shape != current.shape:
        return 1.0
    if float(reference.std()) < 1.0 or float(current.std()) < 1.0:
        return 1.0  # a flat picture has no layout to compare; black/frozen catch those
    result = cv2.matchTemplate(current, reference, cv2.TM_CCOEFF_NORMED)
    return float(result[0][0])


def analyse(
    frames: Sequence[np.ndarray],
    times: Sequence[float],
    *,
    expected_fps: int,
    polled: bool = False,
    reference_png: bytes | None = None,
    polygons: Sequence = (),
) -> Probe:
    greys = [_grey(image) for image in frames]
    last = greys[-1]
    detail: dict[str, Any] = {
        "frames": len(frames),
        "brightness": round(float(last.mean()), 1),
        "contrast": round(float(last.std()), 1),
    }
    if len(greys) >= 2:
        differences = [float(cv2.absdiff(a, b).mean()) for a, b in pairwise(greys)]
        detail["motion"] = round(float(np.median(differences)), 3)
        elapsed = times[-1] - times[0]
        if elapsed > 0:
            detail["fps"] = round((len(times) - 1) / elapsed, 1)
    detail["sharpness"] = round(float(cv2.Laplacian(last, cv2.CV_64F).var()), 1)
    small = _small(frames[-1], polygons)
    if reference_png:
        detail["similarity"] = round(similarity(reference_png, small), 3)

    if detail["brightness"] < BLACK_MEAN and detail["contrast"] < BLACK_SPREAD:
        return Probe(HealthStatus.BLACK, detail)
    if "motion" in detail and detail["motion"] < FROZEN_DIFFERENCE:
        return Probe(HealthStatus.FROZEN, detail)
    if detail.get("similarity", 1.0) < MOVED_SIMILARITY:
        return Probe(HealthStatus.MOVED, detail)
    if detail["sharpness"] < BLURRED_SHARPNESS:
        return Probe(HealthStatus.BLURRED, detail)
    if not polled and "fps" in detail and detail["fps"] < LOW_RATE_RATIO * expected_fps:
        return Probe(HealthStatus.LOW_RATE, detail)
    reference = None
    if not reference_png:
        ok, png = cv2.imencode(".png", small)
        reference = png.tobytes() if ok else None
    return Probe(HealthStatus.OK, detail, reference)


def probe(
    url: str,
    *,
    username: str = "",
    password: str = "",
    expected_fps: int = 12,
    reference_png: bytes | None = None,
    polygons: Sequence = (),
    seconds: float = 2.0,
    timeout: float = 5.0,
) -> Probe:
    """The status of one source; never raises for a source that misbehaves."""
    try:
        taken = sample(
            url,
            username=username,
            password=password,
            seconds=seconds,
            max_frames=max(2, int(expected_fps * seconds) + 1),
            timeout=timeout,
        )
    except UndecodableFormat as exc:
        # Reachable, but nothing can be analysed: said as such, never judged black or frozen.
        return Probe(
            HealthStatus.UNREACHABLE, {"error": str(exc), "undecodable": True, "format": exc.label}
        )
    except SourceError as exc:
        return Probe(HealthStatus.UNREACHABLE, {"error": str(exc)})
    return analyse(
        [f.image for f in taken.frames],
        [f.at for f in taken.frames],
        expected_fps=expected_fps,
        polled=taken.polled,
        reference_png=reference_png,
        polygons=polygons,
    )
