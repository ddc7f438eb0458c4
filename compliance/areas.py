"""The areas of an access-request extract: checked, measured, bounded and followed in time.

Two kinds: the areas kept sharp (where the requester appears; everything outside them is
blurred) and the areas blurred even inside those (a third party crossing the requester). An area
is either a polygon (normalized points, the privacy-mask format), standing still for the whole
request, or a moving one: ``{"keys": [{"t": seconds, "points": [...]}, ...]}`` with ``t`` the
seconds since the request's start, increasing, and the same number of corners at every key.
Between two keys each corner moves in a straight line at constant speed; before the first key
the area stands at the first, after the last at the last. A still polygon is a one-key area.

The requester is kept sharp, never the scene: at every moment the union of the kept areas may
cover at most ``COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT`` of the frame, whatever their number or
overlap. It is measured at every key and between keys (``SAMPLES_BETWEEN_KEYS``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from cameras.models import validate_polygons

#: The grid the union is measured on. The raster counts edge cells in, overstating an area by
#: about its perimeter / GRID (0.1 % of the frame for the frame's own outline).
GRID = 4000
#: Moments measured between two consecutive key times (on top of the keys themselves).
SAMPLES_BETWEEN_KEYS = 3

Points = list[list[float]]
Key = tuple[float, Points]


def keys_of(area: Any) -> list[Key]:
    """The area's key positions in time order: one key at 0 for a still polygon."""
    if isinstance(area, dict):
        return [(float(key["t"]), key["points"]) for key in area["keys"]]
    return [(0.0, area)]


def position_at(area: Any, t: float) -> Points:
    """Where the area stands ``t`` seconds after the request's start (linear between keys)."""
    keys = keys_of(area)
    if t <= keys[0][0]:
        return keys[0][1]
    for (t0, before), (t1, after) in pairwise(keys):
        if t <= t1:
            share = (t - t0) / (t1 - t0)
            return [
                [x0 + (x1 - x0) * share, y0 + (y1 - y0) * share]
                for (x0, y0), (x1, y1) in zip(before, after, strict=True)
            ]
    return keys[-1][1]


def positions_at(areas: Sequence[Any], t: float) -> list[Points]:
    """Every area's polygon at ``t`` seconds after the request's start."""
    return [position_at(area, t) for area in areas]


def moments(areas: Sequence[Any]) -> list[float]:
    """The times the kept share is measured at: every key, and evenly between keys."""
    times = sorted({t for area in areas for t, _points in keys_of(area)} | {0.0})
    samples = set(times)
    for t0, t1 in pairwise(times):
        step = (t1 - t0) / (SAMPLES_BETWEEN_KEYS + 1)
        samples.update(t0 + step * i for i in range(1, SAMPLES_BETWEEN_KEYS + 1))
    return sorted(samples)


def kept_share(areas: list[Points]) -> float:
    """The share (0-1) of the frame that the union of ``areas`` covers, as the blur fills it."""
    mask = np.zeros((GRID, GRID), dtype=np.uint8)
    for points in areas:
        pixels = np.rint(np.asarray(points, dtype=np.float64) * GRID).astype(np.int32)
        cv2.fillPoly(mask, [np.clip(pixels, 0, GRID - 1)], 255)
    return float(np.count_nonzero(mask)) / (GRID * GRID)


def widest_moment(areas: Sequence[Any]) -> tuple[float, float]:
    """The measured moment at which the kept areas cover the most, and that share (0-1)."""
    shares = [(kept_share(positions_at(areas, t)), t) for t in moments(areas)]
    share, t = max(shares, key=lambda found: (found[0], -found[1]))
    return t, share


def kept_percent(areas: Sequence[Any]) -> float:
    """The widest share of the frame the kept areas cover, in percent (one decimal)."""
    if not areas:
        return 0.0
    return round(100 * widest_moment(areas)[1], 1)


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: message}, code="areas")


def check_areas(areas: Any, *, field: str, duration: float | None = None) -> list[Any]:
    """The areas in the stored format, every key valid; ValidationError on ``field``.

    ``duration`` (seconds), when known, bounds the key times to the request's period.
    """
    if not isinstance(areas, list):
        raise _invalid(
            field,
            _(
                "Zones invalides : une liste de polygones aux coordonnées 0-1, ou de positions "
                "clés dans le temps."
            ),
        )
    clean: list[Any] = []
    for number, area in enumerate(areas, start=1):
        if not isinstance(area, dict):
            clean.append(area)
            continue
        keys = area.get("keys")
        if set(area) != {"keys"} or not isinstance(keys, list) or not keys:
            raise _invalid(
                field,
                _("Zone %(n)s : une zone mobile est une liste de positions clés.") % {"n": number},
            )
        stored = []
        for key in keys:
            t = key.get("t") if isinstance(key, dict) else None
            if (
                not isinstance(key, dict)
                or set(key) != {"t", "points"}
                or isinstance(t, bool)
                or not isinstance(t, int | float)
                or not math.isfinite(t)
            ):
                raise _invalid(
                    field,
                    _(
                        "Zone %(n)s : chaque position clé donne son instant « t » (secondes "
                        "depuis le début de la période) et ses sommets « points »."
                    )
                    % {"n": number},
                )
            stored.append({"t": round(float(t), 3), "points": key["points"]})
        times = [key["t"] for key in stored]
        if any(t1 <= t0 for t0, t1 in pairwise(times)):
            raise _invalid(
                field,
                _("Zone %(n)s : les positions clés doivent se suivre dans le temps.")
                % {"n": number},
            )
        if times[0] < 0 or (duration is not None and times[-1] > duration + 0.001):
            raise _invalid(
                field,
                _("Zone %(n)s : une position clé tombe hors de la période demandée.")
                % {"n": number},
            )
        clean.append({"keys": stored})
    polygons = [points for area in clean for _t, points in keys_of(area)]
    try:
        validate_polygons([{"points": points} for points in polygons])
    except ValidationError as exc:
        # The polygon and point at fault, in words: the agent corrects that one.
        raise ValidationError({field: exc.messages}, code="areas") from exc
    for number, area in enumerate(clean, start=1):
        if len({len(points) for _t, points in keys_of(area)}) > 1:
            raise _invalid(
                field,
                _(
                    "Zone %(n)s : chaque position clé doit avoir le même nombre de sommets, pour "
                    "que la zone se déplace de l'une à l'autre."
                )
                % {"n": number},
            )
    return clean


def check_keep_areas(areas: Any, *, duration: float | None = None) -> list[Any]:
    """The kept areas, valid and bounded at every moment; ValidationError on ``keep_areas``."""
    areas = check_areas(areas, field="keep_areas", duration=duration)
    if not areas:
        raise ValidationError(
            {"keep_areas": _("Marquez au moins une zone où apparaît le demandeur.")},
            code="areas",
        )
    limit = settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT
    t, share = widest_moment(areas)
    percent = round(100 * share, 1)
    if percent > limit:
        moving = any(isinstance(area, dict) for area in areas)
        message = _(
            "Les zones laissées nettes couvrent %(percent)s %% de l'image : au plus "
            "%(limit)s %% sont permis. Ne marquez que la silhouette du demandeur, le "
            "reste de la scène doit être flouté."
        ) % {"percent": number_format(percent), "limit": limit}
        if moving:
            message += " " + _("(À %(t)s s du début de la période.)") % {
                "t": number_format(round(t, 1))
            }
        raise ValidationError({"keep_areas": message}, code="areas_too_large")
    return areas


def check_blur_areas(areas: Any, *, duration: float | None = None) -> list[Any]:
    """The areas blurred even inside the kept ones (optional); ValidationError on ``blur_areas``."""
    return check_areas(areas, field="blur_areas", duration=duration)
