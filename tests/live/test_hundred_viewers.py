"""A hundred viewers of one camera, and a station that stops reading, over real sockets.

The live application runs under uvicorn with the live process's WebSocket protocol (as the
Procfile's ``live``), the camera is a clip played as a ``file://`` source, the hundred viewers
are WebSocket clients signed in with the second factor, in a process of their own
(``tests/live/wall_clients.py``), and the station that stops reading is a raw TCP socket with a
small receive buffer that never reads after its handshake: its pictures fill its socket, then
the server's transport buffer, then its queue in the pipeline, where they are dropped. When it
reads again, its stream restarts at a key frame after each picture it lost.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import uvicorn
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import video
from csu.asgi import application
from live import pipeline as live_pipeline
from live.models import EndReason, ViewingSession
from live.pipeline import HEADER, Viewer, hub
from live.sockets import SEND_BUFFER_BYTES, WRITE_HIGH_WATER, LiveWebSocketProtocol
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory
from tests.live import wall_clients
from tests.recordings.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIEWERS = 100
PEOPLE = 10  # each signed in once, with ten tiles on the camera: a hundred viewing sessions
STUCK_AGENT = "poste-bloque"


def textured_clip(path: Path, *, seconds: int = 60, fps: int = 10) -> Path:
    """A 320x180 clip of moving noise: every picture costs kilobytes, as a street at night."""
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 255, (180, 640, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "g": str(fps)}
        for index in range(seconds * fps):
            shift = (index * 8) % 320
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(texture[:, shift : shift + 320]), format="bgr24"
            )
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@dataclass
class UvicornLive:
    server: uvicorn.Server
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self, agent: str):
        """The server's side of the connection whose browser says ``agent``."""
        for protocol in list(self.server.server_state.connections):
            headers = dict(getattr(protocol, "scope", {}).get("headers", []))
            if headers.get(b"user-agent", b"").decode() == agent:
                return protocol
        raise AssertionError(f"no connection from {agent!r}")


@pytest.fixture
def uvicorn_live(transactional_db, fast_live) -> Iterator[UvicornLive]:
    """csu.asgi under uvicorn in a thread, with the server object at hand."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws=LiveWebSocketProtocol,  # as the Procfile's live process: --ws live.sockets:...
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield UvicornLive(server, port)
    server.should_exit = True
    thread.join(15)


def stuck_station(port: int, path: str, cookie: str) -> socket.socket:
    """A WebSocket handshake on a raw socket with a 4 KiB receive buffer; nothing read after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n"
            f"User-Agent: {STUCK_AGENT}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, f"handshake refused: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def read_frames(sock: socket.socket, until: float) -> list[tuple[int, bytes]]:
    """The WebSocket messages (opcode, payload) read from ``sock`` until the clock passes
    ``until`` (the server's frames are not masked; pings are left unanswered)."""
    data = bytearray()
    sock.settimeout(0.2)
    while time.time() < until:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    messages, offset = [], 0
    while offset + 2 <= len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        head = 2
        if length == 126:
            length, head = int.from_bytes(data[offset + 2 : offset + 4]), 4
        elif length == 127:
            length, head = int.from_bytes(data[offset + 2 : offset + 10]), 10
        if offset + head + length > len(data):
            break
        messages.append((opcode, bytes(data[offset + head : offset + head + length])))
        offset += head + length
    return messages


class Stations:
    """The hundred readers' process (tests/live/wall_clients.py), spoken to in JSON lines."""

    def __init__(self, order: dict) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.live.wall_clients"],
            cwd=settings.BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.tell(order)

    def tell(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    async def answer(self) -> dict:
        assert self.process.stdout is not None
        line = await asyncio.to_thread(self.process.stdout.readline)
        assert line, f"the stations' process ended ({self.process.wait(5)})"
        return json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def cookies(count: int) -> list[str]:
    people: list[Any] = [UserFactory(role=Role.OPERATOR) for _ in range(count)]
    for person in people:
        HabilitationFactory(user=person, all_cameras=True, can_live=True)
    return [sign_in(Client(), person).cookies["sessionid"].value for person in people]


async def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)


def test_a_hundred_viewers_and_a_station_that_stops_reading(
    uvicorn_live, tmp_path, monkeypatch, settings
):
    camera = CameraFactory(
        code="CAM-100", stream_url=textured_clip(tmp_path / "street.mp4").as_uri()
    )
    path = f"/direct/ws/{camera.code}/"
    assert wall_clients.HEADER.format == HEADER.format  # the stations read what is sent
    signed_in = cookies(PEOPLE + 1)
    limit = settings.CSU_LIVE_VIEWER_QUEUE

    # One decoding and one encoding for everyone: count the sources opened, the encoders made.
    opened, encoders = [], []
    real_frames, real_encoder = video._frames, live_pipeline.H264Encoder

    def counting_frames(*args, **kwargs):
        opened.append(args[0])
        return real_frames(*args, **kwargs)

    def counting_encoder(*args, **kwargs):
        encoders.append(args[:2])
        return real_encoder(*args, **kwargs)

    monkeypatch.setattr(video, "_frames", counting_frames)
    monkeypatch.setattr(live_pipeline, "H264Encoder", counting_encoder)

    async def scenario() -> dict:
        # Every picture the pipeline sends, in order, for reference (a viewer in this process).
        everything = Viewer(asyncio.get_running_loop(), maxsize=100_000)
        hub.join(camera.pk, everything)
        stuck = await asyncio.to_thread(stuck_station, uvicorn_live.port, path, signed_in[-1])
        stations = Stations(
            {
                "url": f"ws://127.0.0.1:{uvicorn_live.port}{path}",
                "origin": uvicorn_live.origin,
                # Ten people, each with the camera in ten tiles: a hundred viewing sessions.
                "cookies": [signed_in[n % PEOPLE] for n in range(VIEWERS)],
                "agents": [f"poste-{n:03d}" for n in range(VIEWERS)],
            }
        )
        try:
            ready = await stations.answer()
            assert ready["ready"], ready["failed"]
            # Every reader began with the configuration, then a key frame.
            assert all(ready["began_well"]), ready["began_well"]
            assert {(c["width"], c["height"]) for c in ready["configs"]} == {(320, 180)}
            # Offered as browsers do, compression is declined: H.264 does not compress.
            assert ready["extensions"] == [""]

            running = hub.pipelines[camera.pk]
            assert list(hub.pipelines) == [camera.pk]
            assert len(running.viewers) == VIEWERS + 2  # the stuck station, the reference
            threads = [t for t in threading.enumerate() if t.name == f"live-{camera.pk}"]
            assert threads == [running]
            stuck_session = await sync_to_async(session_of)(STUCK_AGENT)
            [slow] = [v for v in list(running.viewers) if v.session_id == stuck_session.pk]

            # The station that stops reading: once its socket and the server's transport are
            # full, its queue overflows and its pictures are dropped.
            joined = slow.dropped  # the pictures before its first key frame
            await wait_for(
                lambda: slow.dropped > joined + 3, 20, "pictures dropped for the stuck station"
            )
            transport = uvicorn_live.connection(STUCK_AGENT).transport
            send_buffer = transport.get_extra_info("socket").getsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF
            )

            # Meanwhile everyone else keeps the pipeline's pace.
            start, produced, dropped = time.time(), running.stats.frames_out, slow.dropped
            queued, buffered = [], []
            while time.time() - start < 4:
                queued.append(slow.queue.qsize())
                buffered.append(transport.get_write_buffer_size())
                await asyncio.sleep(0.05)
            end = time.time()
            window = {
                "produced": running.stats.frames_out - produced,
                "slow_dropped": slow.dropped - dropped,
                "queued": max(queued),
                "buffered": max(buffered),
                "high_water": transport.get_write_buffer_limits()[1],
                "send_buffer": send_buffer,
            }
            # What was captured in the window reaches every reader, a moment later at worst.
            stations.tell({"start": start, "end": end})
            window |= await stations.answer()

            # The stuck station reads again: what was already on its way, then live pictures,
            # the first after each gap a key frame (its decoder restarts cleanly).
            resumed = time.time()
            messages = await asyncio.to_thread(read_frames, stuck, resumed + 3)
            window["resumed"] = [
                HEADER.unpack_from(payload) for opcode, payload in messages if opcode == 2
            ]
            window["resumed_at"] = resumed
            window["sent"] = [
                HEADER.unpack_from(item)[1]
                for item in iter_queue(everything.queue)
                if isinstance(item, bytes)
            ]
        finally:
            stations.stop()
            stuck.close()
            hub.leave(camera.pk, everything)
        # The last viewer gone, the pipeline stops after its linger delay.
        await wait_for(lambda: not hub.pipelines, 15, "the pipeline's stop")
        running.join(10)
        assert not running.is_alive()
        return window

    window = asyncio.run(scenario())
    assert opened == [camera.stream_url] and len(encoders) == 1

    # At 10 images a second, about 40 in the window; each reader got (nearly) all of them.
    assert window["produced"] >= 20, window
    assert window["caught_up"], window
    assert min(window["received"]) >= 0.9 * window["produced"], window
    # The stuck station: its pictures dropped all along; never more than its queue held for it,
    # a transport buffer that stops at its high-water mark (plus the picture being written), a
    # small kernel buffer (Linux doubles what is asked).
    assert window["slow_dropped"] >= 0.5 * window["produced"], window
    assert window["queued"] <= limit, window
    assert window["high_water"] == WRITE_HIGH_WATER
    assert window["buffered"] <= WRITE_HIGH_WATER + window["largest"] + 1024, window
    assert window["send_buffer"] <= 2 * SEND_BUFFER_BYTES, window
    pictures = [(bool(flags & 1), captured) for flags, captured in window["resumed"]]
    assert pictures[0][0], "the stuck station's stream began at a key frame"
    assert pictures[-1][1] / 1000 > window["resumed_at"], "the stuck station never came back"
    # Against everything the pipeline sent: after each picture skipped, a key frame.
    position = {captured: index for index, captured in enumerate(window["sent"])}
    seen = [(key, position[c]) for key, c in pictures if c in position]
    after_gaps = [key for (_k, before), (key, now) in itertools.pairwise(seen) if now != before + 1]
    assert len(seen) >= 20 and after_gaps, "nothing was dropped for the stuck station"
    assert all(after_gaps), "after pictures dropped, the stuck station's next was not a key frame"

    # Every viewing session ended, each with its one audit event.
    sessions = list(ViewingSession.objects.filter(camera=camera))
    assert len(sessions) == VIEWERS + 1
    assert all(s.ended_at and s.end_reason == EndReason.CLOSED for s in sessions)
    events = AuditEvent.objects.filter(action="live.session")
    assert sorted(e.details["session"] for e in events) == sorted(s.pk for s in sessions)


def iter_queue(queue: asyncio.Queue) -> Iterator:
    while not queue.empty():
        yield queue.get_nowait()


def session_of(agent: str) -> ViewingSession:
    return ViewingSession.objects.get(station_agent=agent)
