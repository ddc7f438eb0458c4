"""Helpers for the live tests: clips made on the spot and a WebSocket client for the ASGI app."""

from __future__ import annotations

import asyncio
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from tests.conftest import sign_in


def bright_clip(
    path: Path, *, size: tuple[int, int], codec: str = "libx264", seconds: float = 2, fps: int = 12
) -> Path:
    """A clip whose whole picture is bright (230) but for a dark square moving on the right."""
    width, height = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "g": str(fps)}
        if codec == "libx265":
            stream.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        for index in range(int(seconds * fps)):
            image = np.full((height, width, 3), 230, np.uint8)
            side = height // 5
            x = width // 2 + (index * width // (2 * int(seconds * fps))) % (width // 2 - side)
            image[height // 2 : height // 2 + side, x : x + side] = 20
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


class WebsocketCommunicator(ApplicationCommunicator):
    """A WebSocket client for an ASGI application, in process (as a browser's handshake)."""

    def __init__(self, application, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(
            application,
            {
                "type": "websocket",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "headers": headers,
                "subprotocols": [],
                "client": ("127.0.0.1", 50000),
                "server": ("127.0.0.1", 8000),
            },
        )

    async def connect(self, timeout: float = 10) -> tuple[bool, int | None]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, None

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def session_cookie(user) -> str:
    return sign_in(Client(), user).cookies["sessionid"].value


def communicator(code: str, cookie: str | None = None, origin: str = "http://127.0.0.1:8000"):
    from csu.asgi import application

    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, f"/direct/ws/{code}/", headers=headers)


async def outcome(comm: WebsocketCommunicator) -> int | None:
    """None when the stream was accepted and stays open; the close code when refused (403 when
    refused at the handshake, which an ASGI server answers with HTTP 403)."""
    connected, _code = await comm.connect(timeout=10)
    if not connected:
        return 403
    try:
        first = await comm.receive_output(timeout=5)
    except TimeoutError:
        return None
    if first["type"] == "websocket.close":
        return first.get("code")
    return None


async def messages_until(comm: WebsocketCommunicator, predicate, timeout: float) -> list[Any]:
    """Messages received (text parsed as JSON, bytes as they are) until one matches."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[Any] = []
    while loop.time() < deadline:
        try:
            message = await comm.receive_output(timeout=max(0.1, deadline - loop.time()))
        except TimeoutError:
            break
        if message["type"] == "websocket.close":
            seen.append({"closed": message.get("code")})
        elif message.get("text") is not None:
            seen.append(json.loads(message["text"]))
        else:
            seen.append(message["bytes"])
        if predicate(seen[-1]):
            return seen
    raise AssertionError(f"nothing matched in {timeout} s; last messages: {seen[-5:]!r:.500}")
