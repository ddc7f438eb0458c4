"""Ten times the city without video: the segment index, the beat's dispatch and the purge at 930.

Run from the repository root: ``python bench/city_sim.py --cameras 930 [--days 15]``. It needs
PostgreSQL on 127.0.0.1 (user postgres, no password; or BENCH_DATABASE_URL) and Redis (the
dispatch publishes its tasks: BENCH_BROKER_URL, default ``redis://127.0.0.1:6379/2``, whose
``recording`` queue it empties afterwards). It recreates the scratch database ``csu_bench_2``.

1. **Index.** N cameras (one authorization in force, retention 15 days, sources that refuse the
   connection at once: ``rtsp://127.0.0.1:9/``), one day key per camera and day, and the segment
   index for ``--days`` days at the configured segment length (``CSU_SEGMENT_SECONDS``, 60 s by
   default), loaded with COPY in batches of cameras; ten holds of two hours on the oldest day.
   The object store is the local folder with only the newest 20 segments written (256 bytes
   each): the purge's store check samples the newest 20 rows, and its deletion treats an object
   already gone as deleted (``recordings.purge._delete_objects``), so the objects of the purged
   day are absent and the purge's object deletion is not measured here (``bench/purge.py`` does
   that at 93 cameras).
2. **Size.** Rows, ``pg_database_size``, ``pg_total_relation_size`` of the segment table and the
   size of each of its indexes.
3. **Dispatch.** ``recordings.tasks.dispatch_recorders`` called directly, twice: cold (no lease,
   so every camera is sent to the broker) and steady (every camera holds a live lease: nothing to
   send, the beat's ordinary run). Its beat period is 30 s.
4. **Health.** ``cameras.tasks.check_cameras_health`` called directly: every probe fails at once
   (connection refused), so this is the bookkeeping of N cameras, not the probes' wait; the time
   real sources take is computed from the settings and printed apart.
5. **Purge.** ``recordings.purge.purge_run`` with "now" set so that exactly the oldest day is
   past retention: time and rows per second.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csu_bench_2")
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/2")
SCRATCH = Path(tempfile.mkdtemp(prefix="csu-bench-city-sim-"))
RETENTION_DAYS = 15
HOLDS = 10
HOLD_HOURS = 2
#: Cameras per COPY batch (at 60 s segments and 15 days: 21,600 rows a camera).
COPY_CAMERAS = 20
#: One beat period of the dispatch (csu/celery.py: recordings-dispatch every 30 s); the bound
#: leaves the worker most of it: a dispatch must take well under a tenth of its period.
DISPATCH_BOUND_MS = 3000
#: The health check runs every 60 s and expires after 55 s.
HEALTH_BOUND_MS = 55000
#: One day's purge must finish within the hour (the purge runs every 5 minutes and takes up
#: where it stopped, but a day must not take longer than an hour to leave).
PURGE_BOUND_S = 3600

os.environ["DATABASE_URL"] = DATABASE
os.environ["CELERY_BROKER_URL"] = BROKER
os.environ["CSU_DATA_DIR"] = str(SCRATCH)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

SEGMENT_COLUMNS = (
    "camera_id, started_at, ended_at, size, sha256, key_id, storage_path, codec, frames, "
    "state, stored_at, clock_source"
)


def recreate_database() -> None:
    import psycopg

    name = DATABASE.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


class Sim:
    def __init__(self, cameras: int, days: int) -> None:
        from django.conf import settings

        self.n_cameras = cameras
        self.days = days
        self.segment = settings.RECORDING_SEGMENT_SECONDS
        self.per_day = 86400 // self.segment
        self.media = Path(settings.MEDIA_ROOT)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.base = today - timedelta(days=days)
        # The cutoff (now - 15 days) falls on the end of the oldest day.
        self.as_of = self.base + timedelta(days=RETENTION_DAYS + 1)
        self.cutoff = self.base + timedelta(days=1)
        self.cameras: list = []

    def load(self) -> dict[str, float]:
        from django.db import connection
        from django.utils import timezone

        from cameras.models import Camera
        from operations.demo import _authorization
        from recordings import crypto, keys, purge
        from recordings.models import DataKey, Hold, Segment

        began = time.perf_counter()
        authorization = _authorization("SIM", timezone.localdate().year)
        self.cameras = Camera.objects.bulk_create(
            Camera(
                code=f"SIM-{n:04d}",
                name=f"Caméra simulée {n}",
                sector="simulation",
                kind="fixed",
                stream_url="rtsp://127.0.0.1:9/sim",
                retention_days=RETENTION_DAYS,
                authorization=authorization,
            )
            for n in range(1, self.n_cameras + 1)
        )
        master = keys.master_keys()[0]
        DataKey.objects.bulk_create(
            (
                DataKey(
                    camera_id=camera.pk,
                    day=(self.base + timedelta(days=day)).date(),
                    key_id=crypto.data_key_id(
                        camera.code, (self.base + timedelta(days=day)).date(), 1
                    ),
                    wrapped=master.wrap(
                        crypto.data_key_id(
                            camera.code, (self.base + timedelta(days=day)).date(), 1
                        ),
                        crypto.new_data_key(),
                    ),
                    master_fingerprint=master.fingerprint.hex(),
                )
                for camera in self.cameras
                for day in range(self.days)
            ),
            batch_size=2000,
        )
        key_pks = {
            (camera_pk, day): pk
            for pk, camera_pk, day in DataKey.objects.values_list("pk", "camera_id", "day")
        }
        keys_s = time.perf_counter() - began
        began = time.perf_counter()
        sha = "0" * 64
        stored_at = self.as_of.isoformat()
        step = timedelta(seconds=self.segment)
        total = self.days * self.per_day
        for first in range(0, len(self.cameras), COPY_CAMERAS):
            buffer = io.StringIO()
            for camera in self.cameras[first : first + COPY_CAMERAS]:
                for index in range(total):
                    start = self.base + step * index
                    key = key_pks[camera.pk, start.date()]
                    buffer.write(
                        f"{camera.pk}\t{start.isoformat()}\t{(start + step).isoformat()}\t256\t"
                        f"{sha}\t{key}\tsegments/{camera.code}/{start:%Y/%m/%d/%H%M%S}-"
                        f"{index:012x}.csuseg\th264\t0\tstored\t{stored_at}\t\n"
                    )
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY recordings_segment ({SEGMENT_COLUMNS}) FROM STDIN") as copy,
            ):
                copy.write(buffer.getvalue())
        copy_s = time.perf_counter() - began
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE recordings_segment")
        vacuum_s = time.perf_counter() - began
        # Holds: two hours of the oldest day on ten cameras, in force beyond "now".
        step_cameras = max(1, len(self.cameras) // HOLDS)
        Hold.objects.bulk_create(
            Hold(
                camera=camera,
                starts_at=self.base + timedelta(hours=8),
                ends_at=self.base + timedelta(hours=8 + HOLD_HOURS),
                basis=Hold.Basis.MANUAL,
                reason="Simulation : gel d'essai",
                case_reference="SIM-1",
                justification="Simulation de capacité : gel d'essai sur la plus ancienne journée.",
                created_by_name="bench/city_sim.py",
                expires_at=self.as_of + timedelta(days=30),
            )
            for camera in self.cameras[::step_cameras][:HOLDS]
        )
        # The store: only the newest SAMPLE_SIZE objects, which the purge's check samples.
        blob = os.urandom(256)
        for path in Segment.objects.order_by("-pk").values_list("storage_path", flat=True)[
            : purge.SAMPLE_SIZE
        ]:
            target = self.media / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        return {"keys_s": keys_s, "copy_s": copy_s, "vacuum_s": vacuum_s}

    def sizes(self) -> dict[str, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM recordings_segment")
            rows = cursor.fetchone()[0]
            cursor.execute("SELECT pg_database_size(current_database())")
            database = cursor.fetchone()[0]
            cursor.execute(
                "SELECT pg_total_relation_size('recordings_segment'), "
                "pg_relation_size('recordings_segment'), pg_indexes_size('recordings_segment')"
            )
            total, table, indexes = cursor.fetchone()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) "
                "FROM pg_index WHERE indrelid = 'recordings_segment'::regclass ORDER BY 2 DESC"
            )
            per_index = cursor.fetchall()
        print(f"index: {rows:,} segment rows")
        print(f"  pg_database_size: {mib(database)}")
        print(
            f"  recordings_segment: {mib(total)} in all ({mib(table)} table, {mib(indexes)} "
            f"indexes, the rest TOAST and maps)"
        )
        for name, size in per_index:
            print(f"    {name}: {mib(size)}")
        return {"rows": rows, "database": database, "segment_total": total}

    def dispatch(self) -> tuple[float, float, int]:
        from django.utils import timezone

        from recordings import tasks
        from recordings.models import RecorderLease

        began = time.perf_counter()
        sent = tasks.dispatch_recorders()
        cold = (time.perf_counter() - began) * 1000
        self.empty_queue()
        now = timezone.now()
        RecorderLease.objects.bulk_create(
            (
                RecorderLease(
                    camera=camera,
                    holder="sim-recorder",
                    acquired_at=now,
                    renewed_at=now,
                    expires_at=now + timedelta(minutes=10),
                    state=RecorderLease.State.RECORDING,
                    last_segment_at=now,
                )
                for camera in self.cameras
            ),
            batch_size=1000,
        )
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            steady_sent = tasks.dispatch_recorders()
            runs.append((time.perf_counter() - began) * 1000)
        assert steady_sent == 0, steady_sent
        print(
            f"dispatch: cold {cold:.0f} ms ({sent} recorder tasks published), steady "
            f"{' / '.join(f'{r:.0f}' for r in runs)} ms (3 runs, nothing to publish)"
        )
        return cold, sorted(runs)[1], sent

    @staticmethod
    def empty_queue() -> None:
        import redis

        from recordings.tasks import RECORDING_QUEUE

        redis.Redis.from_url(BROKER).delete(RECORDING_QUEUE)

    def health(self) -> float:
        from django.conf import settings

        from cameras import tasks

        began = time.perf_counter()
        statuses = tasks.check_cameras_health()
        elapsed = (time.perf_counter() - began) * 1000
        kinds: dict[str, int] = {}
        for status in statuses.values():
            kinds[status] = kinds.get(status, 0) + 1
        per_probe = settings.CAMERA_SAMPLE_SECONDS
        print(
            f"health: {elapsed:.0f} ms for {len(statuses)} cameras (every probe refused at once: "
            f"{kinds}); with sources that answer, each probe reads "
            f"{per_probe} s, 4 threads: about "
            f"{math.ceil(len(statuses) / 4) * per_probe} s a round (computed, not measured)"
        )
        return elapsed

    def purge(self) -> tuple[float, int]:
        from recordings import purge
        from recordings.models import Segment

        due = Segment.objects.filter(state="stored", ended_at__lte=self.cutoff).count()
        began = time.perf_counter()
        result = purge.purge_run(now=self.as_of, job_id="city-sim")
        elapsed = time.perf_counter() - began
        assert result.state == "done", result
        held = due - result.segments
        print(
            f"purge: {result.segments:,} segments of the oldest day destroyed ({held:,} held "
            f"kept), {result.keys:,} day keys, {len(result.entries):,} register entries in "
            f"{elapsed:.1f} s = {result.segments / elapsed:,.0f} rows/s"
        )
        return elapsed, result.segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cameras", type=int, default=930)
    parser.add_argument("--days", type=int, default=RETENTION_DAYS)
    parser.add_argument("--skip-health", action="store_true", help="leave the health check out")
    args = parser.parse_args()
    if not 1 <= args.days <= RETENTION_DAYS:
        parser.error(f"--days between 1 and {RETENTION_DAYS}")
    recreate_database()
    import django

    django.setup()
    import logging

    from django.core.management import call_command

    # Every simulated source refuses the connection: one warning per camera and round is noise.
    logging.getLogger("cameras.sources").setLevel(logging.ERROR)

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - began:.1f} s")
    sim = Sim(args.cameras, args.days)
    timing = sim.load()
    print(
        f"load: {args.cameras} cameras x {args.days} days x {sim.per_day} segments of "
        f"{sim.segment} s; day keys {timing['keys_s']:.1f} s, COPY {timing['copy_s']:.1f} s, "
        f"VACUUM ANALYZE {timing['vacuum_s']:.1f} s"
    )
    size = sim.sizes()
    cold, steady, _sent = sim.dispatch()
    health = None if args.skip_health else sim.health()
    purge_s, purged = sim.purge()
    full_rows = args.cameras * sim.per_day * RETENTION_DAYS
    per_row = size["segment_total"] / max(1, size["rows"])
    rest = size["database"] - size["segment_total"]
    print(
        f"computed for {RETENTION_DAYS} days: {full_rows:,} rows, about "
        f"{mib(int(per_row * full_rows + rest))} of database ({per_row:.0f} bytes a segment row "
        f"with its indexes, measured over {args.days} days, plus {mib(rest)} of everything else)"
    )
    print(f"RESULT city_sim cameras={args.cameras} days={args.days}")
    print(f"RESULT city_sim index_rows={size['rows']}")
    print(f"RESULT city_sim database_mib={size['database'] / 2**20:.0f}")
    print(f"RESULT city_sim dispatch_ms={steady:.0f} target<={DISPATCH_BOUND_MS}")
    print(f"RESULT city_sim dispatch_cold_ms={cold:.0f} target<={DISPATCH_BOUND_MS}")
    if health is not None:
        print(f"RESULT city_sim health_bookkeeping_ms={health:.0f} target<={HEALTH_BOUND_MS}")
    print(f"RESULT city_sim purge_day_s={purge_s:.1f} target<={PURGE_BOUND_S}")
    print(f"RESULT city_sim purge_rows_per_s={purged / purge_s:.0f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(SCRATCH)], check=False)
