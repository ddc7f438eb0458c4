"""Live pipeline cost: CPU per tile, the added cost of more viewers, frame-in to frame-out latency.

Run from the repository root: ``python bench/live.py [--tiles 8] [--seconds 15] [--viewers 10]``.
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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
os.environ.setdefault("CSU_DATA_DIR", tempfile.mkdtemp(prefix="csu-bench-live-"))

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--viewers", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="csu-live-"))
    url = write_clip(folder / "substream.mp4").as_uri()
    print(f"source: 640x360 H.264 10 fps, {len(POLYGONS)} mask polygons, tile 640x360 at 10 fps")

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


if __name__ == "__main__":
    main()
