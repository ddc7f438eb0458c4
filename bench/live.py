"""Live pipeline cost: CPU per tile, the added cost of more viewers, frame-in to frame-out latency.

Run from the repository root: ``python bench/live.py [--tiles 8] [--seconds 15] [--viewers 10]
[--sockets 100]``.
It writes a 640x360 H.264 clip at 10 fps (a camera's sub-stream) and plays it as ``file://``
cameras (paced at real time, looped) through the live pipelines of ``live/pipeline.py``: decode,
fit in the 640x360 tile, burn three privacy-mask polygons in, encode H.264 (x264 ultrafast,
zerolatency, baseline) at 10 fps, and hand each image to every viewer's queue, drained by an
asyncio loop as the WebSocket consumers do (the WebSocket send itself is not counted).

1. ``--tiles`` cameras with one viewer each for ``--seconds``: process CPU (user + system) per
   tile-second, hence tiles per core (target: at least 24).
2. One camera with one viewer, then the same camera with ``--viewers`` viewers: the CPU added by
   each further viewer, as a share of the first viewer's cost (target: under 5 %).
3. The p95 of the time from a decoded frame's arrival to its bytes handed to the viewers.
4. Over real sockets: the live process as the Procfile starts it (uvicorn, ``csu.asgi``, the
   ``live.sockets`` protocol) in a process of its own, on a scratch SQLite database with one
   camera (three mask polygons) and ten operators signed in with the second factor; WebSocket
   clients in this process read everything. The live process's CPU (``/proc/<pid>/stat``) with
   one viewer, then with ``--sockets`` viewers of the same camera: the CPU each further viewer
   adds, as a share of the first viewer's (target: at most 5 %, as for the queues above), and
   the pictures each viewer received. ``--stock-uvicorn`` runs the same with uvicorn's default
   WebSocket protocol (permessage-deflate, kernel-sized send buffers), for comparison. The
   database is PostgreSQL as in production: ``BENCH_DATABASE_URL``, by default ``csu_bench_live``
   on 127.0.0.1 (created if missing, emptied, migrated); SQLite when no PostgreSQL server answers
   (each viewer's rights check then opens a connection: a viewer costs more).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
os.environ.setdefault("CSU_DATA_DIR", tempfile.mkdtemp(prefix="csu-bench-live-"))


def scratch_database() -> str:
    """The PostgreSQL database BENCH_DATABASE_URL names (created if missing, emptied before use),
    as in production; a scratch SQLite file when no PostgreSQL server answers."""
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csu_bench_live")
    name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(
            url.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=5
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"no PostgreSQL ({str(exc).strip()[:80]}): SQLite instead")
        return ""
    return url


# The database of figure 4, shared with the live process started there.
POSTGRES = scratch_database()
os.environ["DATABASE_URL"] = (
    POSTGRES or f"sqlite:///{Path(os.environ['CSU_DATA_DIR']) / 'bench.sqlite3'}"
)

import av  # noqa: E402
import django  # noqa: E402
import numpy as np  # noqa: E402

django.setup()

from live.pipeline import Hub, Source, Viewer  # noqa: E402

POLYGONS = [
    [[0.0, 0.0], [0.3, 0.0], [0.3, 0.4], [0.0, 0.4]],
    [[0.6, 0.1], [0.9, 0.1], [0.8, 0.5]],
    [[0.1, 0.7], [0.4, 0.6], [0.45, 0.95], [0.05, 0.95]],
]


def write_clip(path: Path, seconds: int = 10, fps: int = 10) -> Path:
    """A street-like moving scene: noise texture, a crossing block, a blinking light."""
    rng = np.random.default_rng(1)
    base = rng.integers(40, 200, (360, 640, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "veryfast", "crf": "26", "g": str(fps * 2)}
        for index in range(seconds * fps):
            image = base.copy()
            x = (index * 12) % 600
            image[220:280, x : x + 40] = (30, 30, 200)
            if index % 10 < 5:
                image[20:40, 600:620] = 255
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drain(viewers: list[Viewer], seconds: float) -> None:
    async def one(viewer: Viewer) -> None:
        while True:
            await viewer.queue.get()

    tasks = [asyncio.create_task(one(v)) for v in viewers]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()


def run(url: str, cameras: int, viewers_per_camera: int, seconds: float) -> tuple[float, list]:
    """CPU seconds used while ``cameras`` pipelines fed their viewers for ``seconds``."""
    hub = Hub(loader=lambda camera_id: Source(url, "", "", POLYGONS))

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        viewers = {c: [Viewer(loop) for _ in range(viewers_per_camera)] for c in range(cameras)}
        for camera, group in viewers.items():
            for viewer in group:
                hub.join(camera, viewer)
        await drain([v for g in viewers.values() for v in g], 3)  # connect, first key frames
        for pipeline in hub.pipelines.values():
            pipeline.stats.latencies.clear()
        start = cpu()
        await drain([v for g in viewers.values() for v in g], seconds)
        return cpu() - start

    used = asyncio.run(scenario())
    latencies = [lat for p in hub.pipelines.values() for lat in p.stats.latencies]
    frames = sum(len(p.stats.latencies) for p in hub.pipelines.values())
    hub.stop_all()
    expected = cameras * seconds * 10
    if frames < 0.8 * expected:
        print(f"  warning: {frames} images out of {expected:.0f} expected (machine overloaded)")
    return used, latencies


SOCKET_PEOPLE = 10


def socket_setup(url: str) -> tuple[str, list[str]]:
    """The scratch database: one camera playing ``url`` with masks, ten signed-in operators."""
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.cameras.factories import CameraFactory, PrivacyMaskFactory
    from tests.factories import HabilitationFactory, UserFactory

    if POSTGRES:
        from django.db import connection

        from tests.append_only import suspended

        with suspended(), connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    camera = CameraFactory(code="CAM-B01", stream_url=url)
    author, validator = UserFactory(), UserFactory()
    PrivacyMaskFactory(
        camera=camera,
        author=author,
        polygons=[{"points": p, "mode": "software"} for p in POLYGONS],
        validated_by=validator,
        validated_at=timezone.now(),
    )
    cookies = []
    for _ in range(SOCKET_PEOPLE):
        person = UserFactory()
        HabilitationFactory(user=person, all_cameras=True, can_live=True)
        client = Client()
        client.force_login(person)
        device = TOTPDevice.objects.create(user=person, name="bench", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        cookies.append(client.cookies["sessionid"].value)
    return camera.code, cookies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_live(port: int, stock: bool) -> subprocess.Popen:
    """The Procfile's live process (a new pipeline for each run: no linger)."""
    command = [sys.executable, "-m", "uvicorn", "csu.asgi:application"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    if not stock:
        command += ["--ws", "live.sockets:LiveWebSocketProtocol"]
    env = dict(os.environ, CSU_LIVE_LINGER_SECONDS="0")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the live process did not start")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def watch(
    port: int, code: str, cookies: list[str], viewers: int, seconds: float, pid: int
) -> tuple[float, list[int]]:
    """``viewers`` WebSockets on the camera: the live process's CPU over ``seconds`` once every
    viewer has its first picture, and the pictures each one received meanwhile."""
    import websockets

    counts = [0] * viewers
    measuring = False

    async def viewer(index: int, ready: asyncio.Event) -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/direct/ws/{code}/",
            origin=websockets.Origin(f"http://127.0.0.1:{port}"),
            additional_headers={"Cookie": f"sessionid={cookies[index % len(cookies)]}"},
            user_agent_header=f"bench-{index}",
            open_timeout=120,
            max_size=2**22,
        ) as connection:
            async for message in connection:
                if isinstance(message, bytes):
                    ready.set()
                    if measuring:
                        counts[index] += 1

    ready = [asyncio.Event() for _ in range(viewers)]
    tasks = [asyncio.create_task(viewer(n, ready[n])) for n in range(viewers)]
    try:
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 180)
        await asyncio.sleep(3)  # warm-up: every viewer past its first key frame
        measuring = True
        start = process_cpu(pid)
        await asyncio.sleep(seconds)
        used = process_cpu(pid) - start
        measuring = False
        return used, counts
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def over_sockets(url: str, viewers: int, seconds: float, stock: bool) -> None:
    code, cookies = socket_setup(url)
    port = free_port()
    live = start_live(port, stock)
    try:
        figures = {}
        for count in (1, viewers):
            figures[count] = asyncio.run(watch(port, code, cookies, count, seconds, live.pid))
            time.sleep(2)  # the pipeline stops (no linger) before the next run
    finally:
        live.terminate()
        live.wait(15)
    one, _ = figures[1]
    many, counts = figures[viewers]
    added = (many - one) / (viewers - 1) / one if one > 0 else float("nan")
    expected = seconds * 10
    label = "stock uvicorn (permessage-deflate)" if stock else "live.sockets protocol"
    label += ", PostgreSQL" if POSTGRES else ", SQLite"
    print(
        f"{label}: 1 viewer {one:.2f} CPU s, {viewers} viewers {many:.2f} CPU s over "
        f"{seconds:.0f} s; pictures per viewer min {min(counts)} median "
        f"{statistics.median(counts):.0f} of about {expected:.0f}"
    )
    name = "live_100_viewers" if viewers == 100 else f"live_{viewers}_viewers"
    suffix = " stock_uvicorn" if stock else ""
    print(f"RESULT {name} added_cpu_pct={added * 100:.2f} target<=5{suffix}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--sockets", type=int, default=100, help="viewers over real sockets")
    parser.add_argument("--stock-uvicorn", action="store_true", help="uvicorn's own protocol")
    parser.add_argument("--only-sockets", action="store_true", help="skip figures 1 to 3")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="csu-live-"))
    url = write_clip(folder / "substream.mp4").as_uri()
    print(f"source: 640x360 H.264 10 fps, {len(POLYGONS)} mask polygons, tile 640x360 at 10 fps")
    if args.only_sockets:
        long_clip = write_clip(folder / "long.mp4", seconds=int(args.seconds) + 45).as_uri()
        over_sockets(long_clip, args.sockets, args.seconds, args.stock_uvicorn)
        return

    used, latencies = run(url, args.tiles, 1, args.seconds)
    per_tile = used / (args.tiles * args.seconds)
    print(f"{args.tiles} tiles x {args.seconds:.0f} s: {used:.2f} CPU s")
    print(
        f"RESULT live cpu_per_tile={per_tile * 100:.2f}% tiles_per_core={1 / per_tile:.1f} "
        f"target>=24"
    )

    one, _ = run(url, 1, 1, args.seconds)
    many, _ = run(url, 1, args.viewers, args.seconds)
    added = (many - one) / (args.viewers - 1) / one if one > 0 else float("nan")
    print(f"1 camera: 1 viewer {one:.2f} CPU s, {args.viewers} viewers {many:.2f} CPU s")
    print(f"RESULT live added_viewer_cost={added * 100:.2f}% target<5%")

    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 20 else float("nan")
    median = statistics.median(latencies) * 1000 if latencies else float("nan")
    print(f"RESULT live frame_in_out_ms p50={median:.1f} p95={p95:.1f}")

    long_clip = write_clip(folder / "long.mp4", seconds=int(args.seconds) + 45).as_uri()
    over_sockets(long_clip, args.sockets, args.seconds, args.stock_uvicorn)


if __name__ == "__main__":
    main()
