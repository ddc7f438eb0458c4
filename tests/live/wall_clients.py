"""Many live viewers of one camera in a process of their own, as stations on the network.

``python -m tests.live.wall_clients`` reads one JSON line on stdin: ``url``, ``origin``,
``cookies`` (one session cookie per viewer) and ``agents`` (each viewer's User-Agent). It opens
the WebSockets, reads everything they are sent and answers on stdout, one JSON line each:

1. ``{"ready": ...}`` once every viewer has a picture, telling whether each began with the
   configuration then a key frame, and which WebSocket extensions the server accepted;
2. after a line ``{"start": t0, "end": t1}`` on stdin (seconds since the epoch), once every
   viewer has a picture captured after ``t1``: ``{"received": [...]}``, the number of pictures
   each viewer got of those captured between ``t0`` and ``t1`` (the capture time is in each
   binary message's header), and ``largest``, the largest message. Then it closes them all.

A process apart from the server's, so that the viewers' work does not share its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import struct
import sys
import time
from dataclasses import dataclass, field

import websockets

#: live.pipeline.HEADER (not imported: this process runs without Django).
HEADER = struct.Struct(">Bd")


@dataclass
class Station:
    agent: str
    #: Capture time (seconds since the epoch), key frame, size of each picture received.
    pictures: list[tuple[float, bool, int]] = field(default_factory=list)
    texts: list[dict] = field(default_factory=list)
    began_well: bool | None = None
    #: The extensions the server accepted (the client offers permessage-deflate, as browsers).
    extensions: str | None = None
    connection: websockets.ClientConnection | None = None

    async def run(self, url: str, origin: str, cookie: str) -> None:
        async with websockets.connect(
            url,
            origin=websockets.Origin(origin),
            additional_headers={"Cookie": f"sessionid={cookie}"},
            user_agent_header=self.agent,
            open_timeout=60,
            max_size=2**22,
        ) as connection:
            self.connection = connection
            assert connection.response is not None
            self.extensions = connection.response.headers.get("Sec-WebSocket-Extensions")
            async for message in connection:
                if isinstance(message, bytes):
                    flags, captured = HEADER.unpack_from(message)
                    if self.began_well is None:
                        self.began_well = bool(flags & 1) and any(
                            t.get("type") == "config" for t in self.texts
                        )
                    self.pictures.append((captured / 1000, bool(flags & 1), len(message)))
                else:
                    self.texts.append(json.loads(message))

    def between(self, start: float, end: float) -> int:
        return sum(1 for at, _key, _size in self.pictures if start <= at <= end)


async def until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def say(message: dict) -> None:
    print(json.dumps(message), flush=True)


async def main() -> None:
    loop = asyncio.get_running_loop()
    order = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    stations = [Station(agent) for agent in order["agents"]]
    tasks = [
        asyncio.create_task(station.run(order["url"], order["origin"], cookie))
        for station, cookie in zip(stations, order["cookies"], strict=True)
    ]
    try:
        ready = await until(lambda: all(s.pictures for s in stations), 60)
        failed = [repr(t.exception()) for t in tasks if t.done() and t.exception()]
        say(
            {
                "ready": ready,
                "began_well": [s.began_well for s in stations],
                "extensions": sorted({s.extensions or "" for s in stations}),
                "configs": [
                    next((t for t in s.texts if t.get("type") == "config"), None) for s in stations
                ],
                "failed": failed[:3],
            }
        )
        if not ready:
            return
        window = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
        caught_up = await until(
            lambda: all(s.pictures[-1][0] > window["end"] for s in stations), 30
        )
        say(
            {
                "caught_up": caught_up,
                "received": [s.between(window["start"], window["end"]) for s in stations],
                "largest": max(size for s in stations for _at, _key, size in s.pictures),
            }
        )
    finally:
        for station in stations:
            if station.connection is not None:
                await station.connection.close()
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
