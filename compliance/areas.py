"""The areas an access-request extract keeps sharp: checked, measured and bounded.

The requester is kept sharp, never the scene: the union of the marked polygons may cover at
most ``COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT`` of the frame, whatever their number or overlap.
"""

from __future__ import annotations

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


def kept_share(areas: list[list[list[float]]]) -> float:
    """The share (0-1) of the frame that the union of ``areas`` covers, as the blur fills it."""
    mask = np.zeros((GRID, GRID), dtype=np.uint8)
    for points in areas:
        pixels = np.rint(np.asarray(points, dtype=np.float64) * GRID).astype(np.int32)
        cv2.fillPoly(mask, [np.clip(pixels, 0, GRID - 1)], 255)
    return float(np.count_nonzero(mask)) / (GRID * GRID)


def kept_percent(areas: list[list[list[float]]]) -> float:
    return round(100 * kept_share(areas), 1)


def check_keep_areas(areas: Any) -> list[list[list[float]]]:
    """The areas, valid and bounded; ValidationError on ``keep_areas`` with the fault in words."""
    if not isinstance(areas, list):
        raise ValidationError(
            {"keep_areas": _("Zones invalides : une liste de polygones aux coordonnées 0-1.")},
            code="areas",
        )
    try:
        validate_polygons([{"points": points} for points in areas])
    except ValidationError as exc:
        # The polygon and point at fault, in words: the agent corrects that one.
        raise ValidationError({"keep_areas": exc.messages}, code="areas") from exc
    if not areas:
        raise ValidationError(
            {"keep_areas": _("Marquez au moins une zone où apparaît le demandeur.")},
            code="areas",
        )
    limit = settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT
    percent = kept_percent(areas)
    if percent > limit:
        raise ValidationError(
            {
                "keep_areas": _(
                    "Les zones laissées nettes couvrent %(percent)s %% de l'image : au plus "
                    "%(limit)s %% sont permis. Ne marquez que la silhouette du demandeur, le "
                    "reste de la scène doit être flouté."
                )
                % {"percent": number_format(percent), "limit": limit}
            },
            code="areas_too_large",
        )
    return areas
