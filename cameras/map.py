"""The camera map: each camera's place and state, for the room; places only, for the public.

The room's map reads the register as its list does (``selectors.camera_list``, narrowed by the
same filters) and gives each camera one state that sums up its status, its health (the health
checks' verdict) and its recording (the recorders' alert, ``cameras.recording_state``). The
public map gives the place and the name of the cameras that the information page counts: in
service, under an authorization in force; never a state, never an internal link.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cameras import recording_state
from cameras.models import Camera, CameraStatus, HealthStatus


class MapState:
    """The map's states, most severe first: a marker's colour and symbol."""

    DOWN = "down"
    NOT_RECORDING = "not_recording"
    DEGRADED = "degraded"
    MAINTENANCE = "maintenance"
    UNCHECKED = "unchecked"
    IN_SERVICE = "in_service"

    LABELS = {
        DOWN: gettext_lazy("Hors service"),
        NOT_RECORDING: gettext_lazy("N'enregistre pas"),
        DEGRADED: gettext_lazy("Dégradée"),
        MAINTENANCE: gettext_lazy("En maintenance"),
        UNCHECKED: gettext_lazy("Non vérifiée"),
        IN_SERVICE: gettext_lazy("En service"),
    }


#: Health verdicts that mean no usable picture, and those that mean a poor one.
DOWN_HEALTH = frozenset({HealthStatus.UNREACHABLE, HealthStatus.BLACK})
DEGRADED_HEALTH = frozenset(
    {HealthStatus.LOW_RATE, HealthStatus.BLURRED, HealthStatus.MOVED, HealthStatus.FROZEN}
)


def map_state(camera: Camera, recording_alert: str) -> str:
    """One state for the camera: its status first, then its picture, then its recording."""
    if camera.status == CameraStatus.MAINTENANCE:
        return MapState.MAINTENANCE
    if camera.status == CameraStatus.OUT_OF_SERVICE or camera.health_status in DOWN_HEALTH:
        return MapState.DOWN
    if camera.unauthorized_since is not None or recording_alert:
        return MapState.NOT_RECORDING
    if camera.health_status in DEGRADED_HEALTH:
        return MapState.DEGRADED
    if camera.health_status == HealthStatus.UNKNOWN:
        return MapState.UNCHECKED
    return MapState.IN_SERVICE


def room_cameras(cameras: QuerySet[Camera]) -> list[Camera]:
    """The register's cameras (already filtered as the list is), without the withdrawn ones."""
    return list(cameras.exclude(status=CameraStatus.DECOMMISSIONED))


def _recording_text(camera: Camera, alerts: dict[int, str]) -> str:
    if camera.unauthorized_since is not None:
        return _("Arrêtée faute d'autorisation préfectorale en vigueur.")
    return alerts.get(camera.pk, "")


def _position(camera: Camera) -> list[float] | None:
    if camera.latitude is None or camera.longitude is None:
        return None
    return [float(camera.latitude), float(camera.longitude)]


def camera_states(cameras: list[Camera]) -> list[dict[str, Any]]:
    """Each camera's state, the words that explain it, and its place (null: no position)."""
    alerts = recording_state.recording_alerts([c.pk for c in cameras]) if cameras else {}
    rows = []
    for camera in cameras:
        state = map_state(camera, _recording_text(camera, alerts))
        rows.append(
            {
                "code": camera.code,
                "state": state,
                "state_label": str(MapState.LABELS[state]),
                "status": camera.get_status_display(),
                "health": camera.get_health_status_display(),
                "recording": _recording_text(camera, alerts),
            }
        )
    return rows


def room_map_data(cameras: list[Camera], live_codes: frozenset[str]) -> dict[str, Any]:
    """What the room's map draws: places, names, sectors, states, each camera's page and, for
    the cameras in ``live_codes`` (those the viewer's habilitations open live), the wall
    showing it."""
    states = {row["code"]: row for row in camera_states(cameras)}
    wall = reverse("live:wall")
    return {
        "tiles": tile_layer(),
        "cameras": [
            {
                **states[camera.code],
                "name": camera.name,
                "sector": camera.sector,
                "position": _position(camera),
                "url": reverse("cameras:camera_detail", args=[camera.code]),
                "live_url": f"{wall}?{urlencode({'camera': camera.code})}"
                if camera.code in live_codes
                else None,
            }
            for camera in cameras
        ],
        "states_url": reverse("cameras:camera_map_states"),
        "state_labels": {key: str(label) for key, label in MapState.LABELS.items()},
        "labels": {**_labels(), **_room_labels()},
    }


def sectors_of(cameras: Iterable[Camera]) -> list[str]:
    return sorted({c.sector for c in cameras if c.sector}, key=str.casefold)


def public_cameras(day: date) -> QuerySet[Camera]:
    """The cameras the public information page counts: in service (not withdrawn) under a
    prefectoral authorization in force on ``day``, with a position."""
    return (
        Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED)
        .filter(
            authorization__issued_on__lte=day,
            authorization__expires_on__gte=day,
            latitude__isnull=False,
            longitude__isnull=False,
        )
        .order_by(Lower("sector"), "code")
        .only("code", "name", "sector", "latitude", "longitude")
    )


def public_map_data(day: date) -> dict[str, Any]:
    """What the public map draws: places, codes and names only (no state, no link)."""
    return {
        "tiles": tile_layer(),
        "cameras": [
            {
                "code": camera.code,
                "name": camera.name,
                "sector": camera.sector,
                "position": _position(camera),
            }
            for camera in public_cameras(day)
        ],
        "labels": _labels(),
    }


def tile_layer() -> dict[str, Any] | None:
    """The city's tile server as the map's script reads it; None: a plain background."""
    if not settings.CSU_MAP_TILE_URL:
        return None
    return {
        "url": settings.CSU_MAP_TILE_URL,
        "attribution": settings.CSU_MAP_TILE_ATTRIBUTION,
        "max_zoom": settings.CSU_MAP_TILE_MAX_ZOOM,
    }


def _labels() -> dict[str, str]:
    return {
        "sector": _("Secteur"),
        "zoom_in": _("Zoomer"),
        "zoom_out": _("Dézoomer"),
    }


def _room_labels() -> dict[str, str]:
    return {
        "open": _("Ouvrir la fiche de la caméra"),
        "live": _("Voir en direct sur le mur"),
        "state": _("État"),
        "health": _("Image"),
        "recording": _("Enregistrement"),
        "stale": _("États non actualisés : nouvel essai dans 30 secondes."),
        "updated": _("États actualisés à %(time)s."),
    }
