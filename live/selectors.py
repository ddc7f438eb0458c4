"""Reads for the wall: the cameras a person may watch live, their call numbers, their process."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from accounts import access
from accounts.roles import Right
from cameras import recording_state
from cameras.models import Camera, CameraStatus
from live.models import ViewingSession

_TRAILING_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class WallCamera:
    code: str
    name: str
    sector: str
    #: What an operator types on the keyboard to call it (the code's trailing number).
    number: int | None
    #: Why the camera is not being recorded (the recorders page's alert); "" while it is.
    alert: str
    stream_url: str


def live_url(code: str) -> str:
    """The WebSocket address of the camera's live process ("" = the page's own host).

    With several live processes, a stable hash of the code picks one, so that every viewer of a
    camera reaches the same process and shares its single pipeline.
    """
    path = f"/direct/ws/{code}/"
    urls = settings.CSU_LIVE_URLS
    if not urls:
        return path
    index = int.from_bytes(hashlib.sha256(code.encode()).digest()[:8], "big") % len(urls)
    return urls[index].rstrip("/") + path


def wall_cameras(user: Any) -> list[WallCamera]:
    scope = access.scope(user, Right.LIVE)
    cameras = list(
        Camera.objects.filter(scope.as_q())
        .exclude(status=CameraStatus.DECOMMISSIONED)
        .order_by("code")
    )
    alerts = recording_state.recording_alerts([camera.pk for camera in cameras])
    taken: set[int] = set()
    result = []
    for camera in cameras:
        match = _TRAILING_NUMBER.search(camera.code)
        number = int(match.group(1)) if match else None
        if number in taken:
            number = None
        if number is not None:
            taken.add(number)
        result.append(
            WallCamera(
                code=camera.code,
                name=camera.name,
                sector=camera.sector,
                number=number,
                alert=alerts.get(camera.pk, ""),
                stream_url=live_url(camera.code),
            )
        )
    return result


def live_sessions(
    start: datetime | None = None, end: datetime | None = None
) -> QuerySet[ViewingSession]:
    """Viewing sessions that started in [start, end), for the DPO's register."""
    sessions = ViewingSession.objects.select_related("user", "camera")
    if start is not None:
        sessions = sessions.filter(started_at__gte=start)
    if end is not None:
        sessions = sessions.filter(started_at__lt=end)
    return sessions.order_by("started_at")
