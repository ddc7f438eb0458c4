"""The live WebSocket: one connection per tile, one viewing session per connection.

Refused at the handshake (close code 4401/4403/4404) for anyone not signed in with the second
factor, any role without live viewing, anyone without a live habilitation on that camera. While
it runs, the habilitation and the sign-in are checked again every ``CSU_LIVE_RECHECK_SECONDS``:
a revoked or expired habilitation, a disabled account or a signed-out session ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from cameras.models import Camera
from csu.lib.network import client_address, trusted_networks
from live import services
from live.models import EndReason, ViewingSession
from live.pipeline import Viewer, hub
from live.roles import WALL_VIEWERS

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def _db(function):
    """A synchronous database call from the event loop, on a thread, connections tidied."""

    def wrapped(*args: Any, **kwargs: Any):
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(wrapped, thread_sensitive=False)


def _second_factor_given(user: Any, session: SessionBase) -> bool:
    if not user.requires_second_factor:
        return True
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is not None and device.user_id == user.pk


def _station(scope: dict[str, Any]) -> tuple[str | None, str]:
    """The viewer's address (a trusted proxy's X-Forwarded-For believed) and browser."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    address = client_address(
        (scope.get("client") or ("", 0))[0] or "",
        headers.get("x-forwarded-for", ""),
        trusted_networks(settings.TRUSTED_PROXIES),
    )
    return address or None, headers.get("user-agent", "")[:300]


class LiveConsumer(AsyncWebsocketConsumer):
    session: ViewingSession | None = None
    viewer: Viewer | None = None
    touched = 0.0
    tasks: list[asyncio.Task]

    async def connect(self) -> None:
        self.tasks = []
        refusal = await _db(self._open)()
        await self.accept()
        if refusal is not None:
            # Accepted then closed at once, nothing sent: the page can tell a refusal (44xx)
            # from a network failure and stop retrying.
            await self.close(code=refusal)
            return
        assert self.session is not None  # opened when not refused
        self.viewer = Viewer(asyncio.get_running_loop(), session_id=self.session.pk)
        hub.join(self.session.camera_id, self.viewer)
        self.tasks = [
            asyncio.create_task(self._pump()),
            asyncio.create_task(self._watch()),
        ]

    def _open(self) -> int | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        if not _second_factor_given(user, self.scope["session"]):
            return CLOSE_UNAUTHENTICATED
        if user.role not in WALL_VIEWERS:
            return CLOSE_FORBIDDEN
        camera = Camera.objects.filter(code=self.scope["url_route"]["kwargs"]["code"]).first()
        if camera is None:
            return CLOSE_NOT_FOUND
        services.live_sessions_close_lost()
        ip, agent = _station(self.scope)
        try:
            self.session = services.live_session_open(
                camera=camera, actor=user, station_ip=ip, station_agent=agent
            )
        except PermissionDenied:
            return CLOSE_FORBIDDEN
        return None

    async def _pump(self) -> None:
        assert self.viewer is not None
        while True:
            message = await self.viewer.queue.get()
            if isinstance(message, str):
                await self.send(text_data=message)
            else:
                await self.send(bytes_data=message)

    def _check(self) -> str:
        assert self.session is not None
        # The sign-in must still be there: signing out (or its expiry) ends the stream.
        store = import_module(settings.SESSION_ENGINE).SessionStore(
            session_key=self.scope["session"].session_key
        )
        store.load()
        if store.session_key is None:
            return EndReason.SIGNED_OUT
        allowed, reason = services.live_session_still_allowed(session=self.session)
        if not allowed:
            return reason
        now = time.monotonic()
        if now - self.touched >= settings.CSU_LIVE_TOUCH_SECONDS:
            services.live_session_touch(session=self.session)
            # Watching is activity: the sign-in does not lapse for idleness under a live wall.
            store.save()
            self.touched = now
        return ""

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(settings.CSU_LIVE_RECHECK_SECONDS)
            try:
                reason = await _db(self._check)()
            except Exception:
                # Rights that cannot be checked are not rights: the stream stops.
                logger.exception("live: the viewer's rights could not be checked")
                reason = EndReason.REVOKED
            if reason:
                await self._end(reason)
                with contextlib.suppress(Exception):
                    await self.send(text_data=json.dumps({"type": "ended", "reason": reason}))
                await self.close(code=CLOSE_FORBIDDEN)
                return

    async def _end(self, reason: str) -> None:
        if self.viewer is not None and self.session is not None:
            hub.leave(self.session.camera_id, self.viewer)
            self.viewer = None
        if self.session is not None:
            await _db(services.live_session_close)(session=self.session, reason=reason)

    async def disconnect(self, code: int) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        await self._end(EndReason.CLOSED)
