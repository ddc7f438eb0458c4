"""Footage lost to a camera outage: our capped retry next to the uncapped backoff it replaces.

Run from the repository root: ``python bench/reconnect.py [--outage 30] [--cap 3] [--rounds 1]``.
Two live RTSP test cameras (GStreamer's RTSP server, run by Debian's /usr/bin/python3 as in the
tests) are recorded at once by ``recordings.remux.record``, 2 s segments: one with the retry
capped at ``--cap`` seconds (``CSU_RECORDER_RETRY_MAX_SECONDS``), one with the previous
exponential backoff up to 60 s. Both cameras are stopped together for ``--outage`` seconds
(their server processes killed: connections refused, as a camera that reboots), then started
again on the same ports. The footage lost is the time between the last segment before the
outage and the first one after; what counts is how much it exceeds the outage (measured from
the kill to the restarted server's readiness). The last line is our excess, bounded by the cap.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The recorder reads the camera register's helpers (stream addresses): the apps must be loaded.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")

import django  # noqa: E402

django.setup()

from recordings.remux import Gap, RemuxSettings, Segment, record  # noqa: E402

RTSP_SERVER = ROOT / "tests" / "recordings" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


class Camera:
    """A live test pattern served over RTSP, which can be stopped and started again."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        if not self.process.stdout.readline().startswith("READY"):
            raise SystemExit("the RTSP test server did not start (GStreamer bindings missing?)")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


class Sink:
    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.gaps: list[Gap] = []
        self.changed = threading.Condition()

    def segment(self, segment: Segment) -> None:
        with self.changed:
            self.segments.append(segment)
            self.changed.notify_all()

    def gap(self, gap: Gap) -> None:
        with self.changed:
            self.gaps.append(gap)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.segments) >= count, timeout):
                raise SystemExit(f"timed out waiting for segment {count}")


def one_round(outage: float, cap: float) -> dict[str, tuple[float, float]]:
    """(footage lost, outage) in seconds for each recorder."""
    variants = {
        "capped": RemuxSettings(segment_seconds=2, backoff_max=cap),
        "uncapped": RemuxSettings(segment_seconds=2, backoff_max=60),
    }
    cameras = {name: Camera() for name in variants}
    sinks = {name: Sink() for name in variants}
    stop = threading.Event()
    threads = []
    for name, settings in variants.items():
        cameras[name].start()
        thread = threading.Thread(
            target=record,
            args=(cameras[name].url, sinks[name]),
            kwargs={"stop": stop, "settings": settings},
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    try:
        for sink in sinks.values():
            sink.wait_for(3, 60)
        down_at = time.time()
        for camera in cameras.values():
            camera.stop()
        time.sleep(2)  # the segments cut short are handed over
        before = {name: len(sink.segments) for name, sink in sinks.items()}
        time.sleep(max(0.0, down_at + outage - time.time()))
        for camera in cameras.values():
            camera.start()
        back_at = time.time()
        for name, sink in sinks.items():
            sink.wait_for(before[name] + 1, 120)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        for camera in cameras.values():
            camera.stop()
    result = {}
    for name, sink in sinks.items():
        last, first = sink.segments[before[name] - 1], sink.segments[before[name]]
        result[name] = ((first.start - last.end).total_seconds(), back_at - down_at)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=30)
    parser.add_argument("--cap", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    excess: dict[str, list[float]] = {"capped": [], "uncapped": []}
    for round_ in range(1, args.rounds + 1):
        for name, (lost, outage) in one_round(args.outage, args.cap).items():
            excess[name].append(lost - outage)
            print(
                f"round {round_} {name:9} outage {outage:5.1f} s, footage lost {lost:5.1f} s, "
                f"excess {lost - outage:5.1f} s"
            )
    worst = max(excess["capped"])
    print(f"uncapped backoff (before): worst excess {max(excess['uncapped']):.1f} s")
    print(f"capped at {args.cap:g} s (now): worst excess {worst:.1f} s")
    print(f"RESULT reconnect excess_s={worst:.1f} target<={args.cap:g}")


if __name__ == "__main__":
    main()
