"""The live process's WebSocket connections: no compression, small send buffers.

**No compression.** Browsers offer permessage-deflate and uvicorn accepts it by default; but
H.264 does not compress, and deflate runs once per viewer for every picture, on the event loop
(about 1 ms for 30 kB with uvicorn's settings). Measured by ``bench/live.py``: with it, each
further viewer of a camera cost about 10 % of its first viewer (and on a loaded machine a
hundred viewers lost a quarter of their pictures); without it, about 4 %.

**Small send buffers.** A live viewer's pictures wait in three places on the server: its queue
in the pipeline (bounded, ``CSU_LIVE_VIEWER_QUEUE`` pictures), the event loop's transport buffer
(the consumer's sends wait above ``WRITE_HIGH_WATER`` bytes) and the kernel's send buffer of its
socket. Linux grows the latter up to ``net.ipv4.tcp_wmem``'s maximum (4 MiB by default) for a
browser that stops reading: seconds, even a minute, of stale video held for one viewer before
the pipeline's queue fills and frames start being dropped. This protocol caps it at
``SEND_BUFFER_BYTES`` per connection, so a viewer that reads slowly falls back to the next key
frame within a second or so instead of watching the past, and a stuck viewer holds a few hundred
kilobytes of the server's memory at most.

uvicorn runs it with ``--ws live.sockets:LiveWebSocketProtocol`` (Procfile, compose file); only
WebSocket connections get it, the pages served by the same process keep the kernel's defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import socket
from asyncio import BaseTransport
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

#: The kernel send buffer asked for each live connection (Linux doubles it for its bookkeeping).
#: 64 KiB is several pictures of a 640x360 tile and, at 100 ms of round trip to a remote station,
#: still lets 5 Mbit/s through: far more than a tile's stream.
SEND_BUFFER_BYTES = 64 * 1024
#: The transport buffer above which the consumer's sends wait (and below which they resume).
WRITE_HIGH_WATER = 64 * 1024
WRITE_LOW_WATER = 16 * 1024


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if config.ws_per_message_deflate:
            config = copy.copy(config)
            config.ws_per_message_deflate = False
        super().__init__(config, server_state, app_state, _loop)

    def connection_made(self, transport: BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A socket object of the event loop, not always a real one: tolerate refusals.
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        with contextlib.suppress(AttributeError, NotImplementedError):
            transport.set_write_buffer_limits(  # type: ignore[attr-defined]
                high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER
            )
        super().connection_made(transport)
