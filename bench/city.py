"""City soak: the product as production runs it, N cameras, three induced faults, what was kept.

Run from the repository root: ``python bench/city.py [--cameras 93] [--rtsp 5] [--minutes 30]``.
It needs PostgreSQL on 127.0.0.1 (user postgres, no password; it drops and creates the database
``csu_bench_1``), ``redis-server`` (a private one is started on its own port, so that restarting
it harms nobody), ffmpeg, and Debian's GStreamer Python bindings for the RTSP cameras.

In a scratch CSU_DATA_DIR it migrates, registers the cameras with an authorization in force,
then starts the Procfile's processes, each in its own process group: gunicorn for the pages
(``csu.gunicorn``), the live ASGI process (uvicorn), a Celery worker, enough recorder workers
(queue ``recording``, threads, ``CSU_RECORDERS_PER_WORKER`` cameras each) and beat. Most
cameras are ``file://`` sources of one 10 s 640x360 H.264 clip (25 fps, key frame every 2 s),
which the recorder plays at real time and loops; ``--rtsp`` of them are real RTSP cameras from
one GStreamer server (``bench/city_rtsp.py``) serving pre-encoded H.264 and H.265 at 720p and
1080p without re-encoding.

Once every camera has stored a segment (the warm-up), the measured part lasts ``--minutes``.
At a quarter of it a recorder worker is killed (SIGKILL) and restarted; at half, the Redis
server is restarted; at three quarters, PostgreSQL's connections to the bench database are
terminated. Each fault is printed with its UTC time. At the end the recorders are stopped as
production stops them (SIGTERM: the open segment is stored), then it prints, per camera, the
segments expected (window / segment length) and stored (the segment index), the holes in the
index with their lengths and whether each overlaps an induced fault; the recorders' CPU per
stream-second (/proc/<pid>/stat) against ``ffmpeg -c copy -f segment`` recording the same
sources for ``--baseline-seconds`` right after (the product is stopped by then, so both get
the same machine); every process's resident memory at warm-up and at the end; and the audit
chain verified (``audit.integrity.verify_and_record``, what ``manage.py verify_audit`` calls).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "csu_bench_1"
#: The PostgreSQL fault: every connection to the bench database is cut.
TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = 'csu_bench_1' AND pid <> pg_backend_pid()"
)
FPS = 25
CLIP_SECONDS = 10
RECORDERS_PER_WORKER = 32
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
#: The RTSP cameras cycle through these (mount, size, encoder).
RTSP_KINDS = [
    ("h264-720", "1280x720", "libx264"),
    ("h265-1080", "1920x1080", "libx265"),
    ("h264-1080", "1920x1080", "libx264"),
    ("h265-720", "1280x720", "libx265"),
]


def utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M:%S")


def log(message: str) -> None:
    print(f"[{utc(time.time())}] {message}", flush=True)


# --- media -----------------------------------------------------------------------------------


def encode_clip(path: Path, size: str, encoder: str) -> None:
    """A 10 s clip, 25 fps, key frame every 2 s (no scene cut), no audio."""
    if path.exists():
        return
    params = ["-x264-params", "keyint=50:min-keyint=50:scenecut=0"]
    if encoder == "libx265":
        params = [
            "-tag:v",
            "hvc1",
            "-x265-params",
            "keyint=50:min-keyint=50:scenecut=0:log-level=1",
        ]
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={FPS}",
            "-t",
            str(CLIP_SECONDS),
            "-c:v",
            encoder,
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-b:v",
            "1500k",
            *params,
            str(path),
        ],
        check=True,
    )


def lengthen(clip: Path, seconds: float) -> Path:
    """The clip repeated for ``seconds``, copied (no re-encoding): an RTSP mount's file."""
    out = clip.with_name(f"{clip.stem}-long.mp4")
    loops = math.ceil(seconds / CLIP_SECONDS) + 1
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            str(loops),
            "-i",
            str(clip),
            "-c",
            "copy",
            "-t",
            str(int(seconds)),
            str(out),
        ],
        check=True,
    )
    return out


# --- processes -------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    incarnations: list[int] = field(default_factory=list)

    def start(self) -> None:
        out = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
        self.started_at = time.time()
        self.incarnations.append(self.popen.pid)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def stop(self, grace: float = 30) -> None:
        if self.popen is None:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.popen.wait(10)
        # Children left behind by the leader (gunicorn's workers, prefork children).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


def proc_stat(pid: int) -> tuple[int, float, int] | None:
    """(process group, CPU seconds utime+stime, RSS bytes) from /proc, or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15, rss 24.
    pgrp = int(fields[2])
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = int(fields[21]) * PAGE
    return pgrp, cpu, rss


class Sampler(threading.Thread):
    """Every few seconds, the CPU and RSS of every process of every group the bench started."""

    def __init__(self, procs: list[Proc], every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.procs = procs
        self.every = every
        self.halt = threading.Event()
        # pid -> (name, [(t, cpu seconds), ...])
        self.cpu: dict[int, tuple[str, list[tuple[float, float]]]] = {}
        # name -> list of (t, leader pid, group RSS)
        self.rss: dict[str, list[tuple[float, int, int]]] = {}
        # pid -> (name, [(t, RSS bytes), ...]): which process of a group grows
        self.pid_rss: dict[int, tuple[str, list[tuple[float, int]]]] = {}
        self.lock = threading.Lock()

    def sample(self) -> None:
        now = time.time()
        groups = {p.pid: p.name for p in self.procs if p.alive()}
        totals: dict[int, int] = dict.fromkeys(groups, 0)
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            stat = proc_stat(int(entry.name))
            if stat is None or stat[0] not in groups:
                continue
            pgrp, cpu, rss = stat
            totals[pgrp] += rss
            with self.lock:
                self.cpu.setdefault(int(entry.name), (groups[pgrp], []))[1].append((now, cpu))
                self.pid_rss.setdefault(int(entry.name), (groups[pgrp], []))[1].append((now, rss))
        with self.lock:
            for leader, rss in totals.items():
                self.rss.setdefault(groups[leader], []).append((now, leader, rss))

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.every)

    def cpu_between(self, prefix: str, start: float, end: float) -> float:
        """CPU seconds of the processes whose name starts with ``prefix`` over [start, end],
        from the samples each process left (a killed one: up to its last sample)."""
        total = 0.0
        with self.lock:
            for name, samples in self.cpu.values():
                inside = [cpu for t, cpu in samples if start <= t <= end]
                if name.startswith(prefix) and inside:
                    total += inside[-1] - inside[0]
        return total


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float
    restored: float = 0.0


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-tAc", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def wait_redis(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
        ).stdout
        if "PONG" in out:
            return
        time.sleep(0.2)
    raise RuntimeError(f"redis-server on port {port} did not answer")


def setup_cameras(cameras: int, clip: Path, rtsp_urls: list[str]) -> list[int]:
    """The register: one authorization in force, ``cameras`` cameras recorded under it."""
    from django.utils import timezone

    from cameras import services
    from cameras.demo import DEMO_ACTOR, DEMO_AUTHORIZATION
    from cameras.models import CameraKind, CameraStatus

    issued = timezone.localdate() - dt.timedelta(days=700)
    authorization = services.authorization_create(
        issued_on=issued, actor=DEMO_ACTOR, **DEMO_AUTHORIZATION
    )
    ids = []
    for n in range(cameras):
        rtsp = n < len(rtsp_urls)
        camera = services.camera_create(
            actor=DEMO_ACTOR,
            code=f"CITY-{n + 1:03}",
            name=f"Caméra de ville {n + 1}" + (" (RTSP)" if rtsp else ""),
            sector=f"Secteur {n % 8 + 1}",
            kind=CameraKind.FIXED,
            stream_url=rtsp_urls[n] if rtsp else clip.as_uri(),
            status=CameraStatus.ACTIVE,
            commissioned_on=timezone.localdate() - dt.timedelta(days=600),
            retention_days=15,
            authorization=authorization,
            expected_fps=FPS,
            verify_source=False,
        )
        ids.append(camera.pk)
    return ids


def segments_by_camera(ids: list[int]) -> dict[int, list[tuple[float, float]]]:
    from django.db import connection

    from recordings.models import Segment

    connection.close()  # the faults may have closed it under us
    rows: dict[int, list[tuple[float, float]]] = {pk: [] for pk in ids}
    for camera_id, start, end in (
        Segment.objects.filter(camera_id__in=ids, state=Segment.State.STORED)
        .order_by("camera_id", "started_at")
        .values_list("camera_id", "started_at", "ended_at")
    ):
        rows[camera_id].append((start.timestamp(), end.timestamp()))
    return rows


def gaps_by_camera(ids: list[int]) -> dict[int, list[tuple[float, float, str]]]:
    """The gaps the product itself recorded (recordings.Gap), open ones ending now."""
    from recordings.models import Gap

    now = time.time()
    rows: dict[int, list[tuple[float, float, str]]] = {pk: [] for pk in ids}
    for camera_id, start, end, reason in Gap.objects.filter(camera_id__in=ids).values_list(
        "camera_id", "started_at", "ended_at", "reason"
    ):
        rows[camera_id].append((start.timestamp(), end.timestamp() if end else now, reason))
    return rows


def holes(
    segments: list[tuple[float, float]], start: float, end: float, tolerance: float
) -> tuple[list[tuple[float, float]], float, int]:
    """Holes over [start, end] longer than ``tolerance``; seconds covered; segments in it."""
    found = []
    covered = 0.0
    count = 0
    cursor = start
    for seg_start, seg_end in segments:
        if seg_end <= start or seg_start >= end:
            continue
        count += 1
        if seg_start - cursor > tolerance:
            found.append((cursor, seg_start))
        covered += max(0.0, min(seg_end, end) - max(seg_start, cursor))
        cursor = max(cursor, seg_end)
    if end - cursor > tolerance:
        found.append((cursor, end))
    return found, covered, count


def ffmpeg_baseline(sources: list[str], seconds: float, folder: Path, segment: int) -> float:
    """CPU seconds of ``ffmpeg -c copy -f segment`` recording each source for ``seconds``."""
    folder.mkdir(parents=True, exist_ok=True)
    processes = []
    for n, source in enumerate(sources):
        head = ["-re", "-stream_loop", "-1"] if source.startswith("/") else []
        head += ["-rtsp_transport", "tcp"] if source.startswith("rtsp:") else []
        processes.append(
            subprocess.Popen(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-loglevel",
                    "error",
                    *head,
                    "-i",
                    source,
                    "-an",
                    "-c",
                    "copy",
                    "-f",
                    "segment",
                    "-segment_time",
                    str(segment),
                    "-segment_format",
                    "mp4",
                    "-segment_format_options",
                    "movflags=frag_keyframe+empty_moov+default_base_moof",
                    "-reset_timestamps",
                    "1",
                    str(folder / f"ff-{n:03}-%04d.mp4"),
                ],
                stdin=subprocess.DEVNULL,
            )
        )
    time.sleep(seconds)
    for process in processes:
        process.send_signal(signal.SIGINT)
    cpu = 0.0
    for process in processes:
        # wait4 hands back the child's own rusage (Popen.wait would reap it without).
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        cpu += usage.ru_utime + usage.ru_stime
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=93)
    parser.add_argument("--rtsp", type=int, default=5, help="of the cameras, RTSP ones (0: none)")
    parser.add_argument("--minutes", type=float, default=30, help="measured part, after warm-up")
    parser.add_argument("--segment-seconds", type=int, default=10)
    parser.add_argument("--baseline-seconds", type=float, default=30)
    parser.add_argument("--port", type=int, default=8710, help="web; live +1, RTSP +2, Redis +3")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    rtsp_count = min(args.rtsp, args.cameras)
    scratch = Path(tempfile.mkdtemp(prefix="csu-city-"))
    data_dir = scratch / "data"
    logs = scratch / "logs"
    media = scratch / "media"
    for folder in (data_dir, logs, media):
        folder.mkdir()
    web_port, live_port, rtsp_port, redis_port = (args.port + i for i in range(4))
    env = {
        **os.environ,
        "CSU_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/1",
        "CSU_SEGMENT_SECONDS": str(args.segment_seconds),
        "CSU_RECORDERS_PER_WORKER": str(RECORDERS_PER_WORKER),
        "PORT": str(web_port),
        "CSU_LIVE_PORT": str(live_port),
        "CSU_LIVE_URLS": f"ws://127.0.0.1:{live_port}",
        "CSU_WEB_WORKERS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
    log(f"scratch {scratch}")

    procs: list[Proc] = []
    redis = Proc(
        "redis",
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--dir",
            str(scratch),
        ],
        env,
        logs / "redis.log",
    )
    rtsp_server: Proc | None = None
    sampler: Sampler | None = None
    faults: list[Fault] = []
    code = 1
    try:
        # Media: one clip for the file cameras; for RTSP, one clip per kind, made as long as
        # the run by copying (the server then only demuxes and packetizes).
        clip = media / "city-360p.mp4"
        encode_clip(clip, "640x360", "libx264")
        rtsp_urls: list[str] = []
        mounts: list[str] = []
        run_seconds = args.minutes * 60 + 600
        for n in range(rtsp_count):
            mount, size, encoder = RTSP_KINDS[n % len(RTSP_KINDS)]
            short = media / f"{mount}.mp4"
            encode_clip(short, size, encoder)
            if not (media / f"{mount}-long.mp4").exists():
                lengthen(short, run_seconds)
            mounts.append(f"{mount}-{n}={media / f'{mount}-long.mp4'}")
            rtsp_urls.append(f"rtsp://127.0.0.1:{rtsp_port}/{mount}-{n}")
        log(
            f"media ready: {clip.name}"
            + (f", RTSP {', '.join(u[-12:] for u in rtsp_urls)}" if rtsp_urls else "")
        )

        # Each recorded camera holds two connections (Django: one per thread; the task's
        # thread renews the lease, the recorder's thread stores segments), kept open
        # (CONN_MAX_AGE 60 s > the 10 s renewal): twice the cameras plus about 15 for the
        # other processes, on top of what the server's other users hold.
        limit = int(psql("SHOW max_connections"))
        in_use = int(
            psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        )
        needed = 2 * args.cameras + 15
        log(f"PostgreSQL: max_connections {limit}, {in_use} in use, this run needs about {needed}")
        if needed + in_use > limit:
            log("WARNING: not enough PostgreSQL connections; recorders will fail to start")
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        psql(f"CREATE DATABASE {DATABASE}")
        redis.start()
        procs.append(redis)
        wait_redis(redis_port)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        import django

        django.setup()
        from django.conf import settings
        from django.db import OperationalError

        assert settings.DATABASES["default"]["NAME"] == DATABASE, settings.DATABASES
        ids = setup_cameras(args.cameras, clip, rtsp_urls)
        log(
            f"{len(ids)} cameras registered ({rtsp_count} RTSP), "
            f"segments of {args.segment_seconds} s"
        )

        if rtsp_urls:
            rtsp_server = Proc(
                "rtsp",
                ["/usr/bin/python3", str(ROOT / "bench" / "city_rtsp.py"), str(rtsp_port), *mounts],
                env,
                logs / "rtsp.log",
            )
            rtsp_server.start()
            procs.append(rtsp_server)
            deadline = time.time() + 20
            while "READY" not in (logs / "rtsp.log").read_text() and time.time() < deadline:
                time.sleep(0.2)

        py = sys.executable
        recorder_workers = max(1, math.ceil(args.cameras / RECORDERS_PER_WORKER))
        product = [
            Proc(
                "web",
                [py, "-m", "gunicorn", "csu.wsgi", "--config", "python:csu.gunicorn"],
                env,
                logs / "web.log",
            ),
            Proc(
                "live",
                [
                    py,
                    "-m",
                    "uvicorn",
                    "csu.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(live_port),
                    "--ws",
                    "live.sockets:LiveWebSocketProtocol",
                    "--no-access-log",
                ],
                env,
                logs / "live.log",
            ),
            Proc(
                "worker",
                [
                    py,
                    "-m",
                    "celery",
                    "-A",
                    "csu",
                    "worker",
                    "--queues=celery",
                    "--loglevel=INFO",
                    "--concurrency=2",
                    "--hostname=worker@city",
                ],
                env,
                logs / "worker.log",
            ),
        ]
        for n in range(recorder_workers):
            product.append(
                Proc(
                    f"recorder{n + 1}",
                    [
                        py,
                        "-m",
                        "celery",
                        "-A",
                        "csu",
                        "worker",
                        "--queues=recording",
                        "--pool=threads",
                        f"--concurrency={RECORDERS_PER_WORKER}",
                        "--loglevel=INFO",
                        f"--hostname=recorder{n + 1}@city",
                    ],
                    env,
                    logs / f"recorder{n + 1}.log",
                )
            )
        product.append(
            Proc(
                "beat",
                [py, "-m", "celery", "-A", "csu", "beat", "--loglevel=INFO"],
                env,
                logs / "beat.log",
            )
        )
        for proc in product:
            proc.start()
            procs.append(proc)
        started = time.time()
        log("started: " + ", ".join(f"{p.name} pid {p.pid}" for p in procs))
        sampler = Sampler(procs)
        sampler.start()

        # Warm-up: until every camera has stored a segment (at most 3 minutes).
        warm_deadline = started + 180
        while time.time() < warm_deadline:
            time.sleep(5)
            for proc in product:
                if not proc.alive():
                    raise RuntimeError(f"{proc.name} exited early; see {proc.log_path}")
            try:
                recording = sum(1 for rows in segments_by_camera(ids).values() if rows)
            except OperationalError as exc:  # e.g. the server's connections all taken
                log(f"index not readable now: {str(exc).strip()[-90:]}")
                continue
            if recording == len(ids):
                break
        t0 = time.time()
        log(f"warm-up over after {t0 - started:.0f} s: {recording}/{len(ids)} cameras recording")
        sampler.sample()
        t_end = t0 + args.minutes * 60
        schedule = [
            (0.25, "recorder killed"),
            (0.5, "redis restarted"),
            (0.75, "postgres connections terminated"),
        ]
        recorder = next(p for p in product if p.name == "recorder1")
        for fraction, name in schedule:
            at = t0 + fraction * (t_end - t0)
            while time.time() < at:
                time.sleep(min(1.0, at - time.time()) if at > time.time() else 0)
            sampler.sample()
            fault = Fault(name, time.time())
            faults.append(fault)
            if name == "recorder killed":
                recorder.signal_group(signal.SIGKILL)
                recorder.popen.wait(10)
                sampler.sample()
                recorder.start()
            elif name == "redis restarted":
                redis.stop(10)
                redis.start()
                wait_redis(redis_port)
            else:
                killed = psql(TERMINATE)
                fault.name += f" ({killed})"
            fault.restored = time.time()
            log(f"FAULT {fault.name} at {utc(fault.started)} UTC, restored {utc(fault.restored)}")
        while time.time() < t_end:
            time.sleep(min(1.0, t_end - time.time()))
        sampler.sample()
        # Stop the recorders first, as production does (SIGTERM: the open segment is stored).
        t1 = time.time()
        for proc in product:
            if proc.name.startswith("recorder"):
                proc.signal_group(signal.SIGTERM)
        for proc in product:
            if proc.name.startswith("recorder"):
                proc.stop(60)
        sampler.halt.set()
        sampler.join()
        for proc in product:
            proc.stop(30)
        log(f"recorders stopped; window {utc(t0)}–{utc(t1)} UTC ({t1 - t0:.0f} s)")

        # --- what was recorded --------------------------------------------------------------
        seg = args.segment_seconds
        rows = segments_by_camera(ids)
        recorded_gaps = gaps_by_camera(ids)
        unrecorded = 0
        from cameras.models import Camera

        codes = dict(Camera.objects.filter(pk__in=ids).values_list("pk", "code"))
        expected = (t1 - t0) / seg
        lost_outside = 0.0
        holes_outside = 0
        segments_lost = 0
        fault_holes = 0
        stream_seconds = 0.0
        print(
            f"\nPer camera, window {t1 - t0:.0f} s, segments of {seg} s "
            f"(expected {expected:.1f} each)"
        )
        print(f"{'camera':<10} {'stored':>6} {'covered s':>9}  holes (start UTC, length s, fault)")
        for pk in ids:
            found, covered, count = holes(rows[pk], t0, t1, tolerance=1.0)
            stream_seconds += covered
            described = []
            for start, end in found:
                overlapping = [
                    f.name for f in faults if start <= f.restored + 1 and end >= f.started - 1
                ]
                if overlapping:
                    fault_holes += 1
                else:
                    holes_outside += 1
                    lost_outside += end - start
                    segments_lost += math.ceil((end - start) / seg)
                known = [g for g in recorded_gaps[pk] if g[0] <= end and g[1] >= start]
                if known:
                    noted = "gap recorded " + ", ".join(
                        f"{g[1] - g[0]:.1f} s ({g[2][:40]})" for g in known
                    )
                else:
                    unrecorded += 1
                    noted = "NO GAP RECORDED"
                described.append(
                    f"{utc(start)} {end - start:.1f} s "
                    + ("/".join(overlapping) or "NO FAULT")
                    + f", {noted}"
                )
            print(f"{codes[pk]:<10} {count:>6} {covered:>9.0f}  " + "; ".join(described))
        stored_total = sum(len(v) for v in rows.values())
        stream_total = stream_seconds
        print(
            f"\nsegments stored in all {stored_total}, expected in the window about "
            f"{expected * len(ids):.0f}; holes during faults {fault_holes}, "
            f"outside {holes_outside} "
            f"({lost_outside:.1f} s); holes without a gap in the index {unrecorded}"
        )

        # --- CPU ----------------------------------------------------------------------------
        # Over the quarter before the first fault: no process restarted, every camera on.
        quiet_end = faults[0].started
        ours_cpu = sampler.cpu_between("recorder", t0, quiet_end)
        stream_seconds = sum(holes(rows[pk], t0, quiet_end, tolerance=1.0)[1] for pk in ids)
        whole_cpu = sampler.cpu_between("recorder", t0, t1)
        sources = [
            url if url.startswith("rtsp:") else str(clip)
            for url in (rtsp_urls + [clip.as_uri()] * (len(ids) - len(rtsp_urls)))
        ]
        log(f"ffmpeg -c copy baseline: {len(sources)} streams for {args.baseline_seconds:.0f} s")
        ff_cpu = ffmpeg_baseline(sources, args.baseline_seconds, scratch / "ffmpeg", seg)
        ours_per = ours_cpu / stream_seconds if stream_seconds else float("nan")
        ff_per = ff_cpu / (len(sources) * args.baseline_seconds)
        print(
            f"recorders: {ours_cpu:.1f} CPU s over {stream_seconds:.0f} stream-s = "
            f"{ours_per * 1000:.2f} ms/stream-s; ffmpeg -c copy: {ff_cpu:.1f} CPU s over "
            f"{len(sources) * args.baseline_seconds:.0f} stream-s = "
            f"{ff_per * 1000:.2f} ms/stream-s; over the whole window, faults included: "
            f"{whole_cpu:.1f} CPU s, {whole_cpu / stream_total * 1000:.2f} ms/stream-s"
        )

        # --- memory -------------------------------------------------------------------------
        print("\nResident memory (process group, MiB): at warm-up -> at end")
        worst_growth = 0.0
        for name, samples in sampler.rss.items():
            if name in ("redis", "rtsp"):
                continue
            leader = samples[-1][1]
            mine = [s for s in samples if s[1] == leader]
            # A restarted process is measured from its own warm-up (a minute after its start).
            born = mine[0][0]
            warm = [s for s in mine if s[0] >= max(t0, born + 60)]
            if len(warm) < 2:
                print(f"  {name:<10} too young to measure (restarted at {utc(born)})")
                continue
            first, last = warm[0][2], mine[-1][2]
            growth = 100 * (last - first) / first
            worst_growth = max(worst_growth, growth)
            print(f"  {name:<10} {first / 2**20:8.1f} -> {last / 2**20:8.1f}  {growth:+.1f} %")
            members = [
                (pid, rows)
                for pid, (member, rows) in sampler.pid_rss.items()
                if member == name and rows[-1][0] >= mine[-1][0] - 1
            ]
            for pid, rows in sorted(members) if len(members) > 1 else []:
                start = next((r for t, r in rows if t >= warm[0][0]), rows[0][1])
                print(f"    pid {pid:<8} {start / 2**20:8.1f} -> {rows[-1][1] / 2**20:8.1f}")

        # --- audit --------------------------------------------------------------------------
        from django.db import connection

        from audit import integrity

        connection.close()
        result = integrity.verify_and_record(actor_name="bench/city.py")
        print(
            f"\naudit chain: {'OK' if result.ok else 'BROKEN'}, "
            f"{result.events_checked} events; {result.problems}"
        )

        print(
            "\nfaults: "
            + "; ".join(f"{f.name} {utc(f.started)}–{utc(f.restored)} UTC" for f in faults)
        )
        print(f"RESULT city segments_lost_outside_faults={segments_lost} target<=0")
        print(f"RESULT city seconds_lost_outside_faults={lost_outside:.1f} target<=0")
        print(f"RESULT city holes_without_gap_row={unrecorded} target<=0")
        print(f"RESULT city recorder_cpu_vs_ffmpeg_copy={ours_per / ff_per:.2f} target<=1.2")
        print(f"RESULT city rss_growth_pct={worst_growth:.1f} target<=10")
        print(f"RESULT city audit_chain_ok={int(result.ok)} target>=1")
        code = 0
    finally:
        if sampler is not None:
            sampler.halt.set()
        for proc in reversed(procs):
            proc.stop(20)
        try:
            from django.db import connections

            connections.close_all()
        except Exception as exc:  # django may not be set up yet
            print(f"closing connections: {exc}", file=sys.stderr)
        if args.keep or code:
            print(f"logs kept in {logs}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
