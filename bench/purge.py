"""Retention purge cost: our purge next to ``find -delete`` plus one indexed ``DELETE``.

Run from the repository root: ``python bench/purge.py [--rounds N] [--profile]``. It needs
PostgreSQL on 127.0.0.1 (user postgres, no password, or set BENCH_DATABASE_URL) and creates the
database ``csu_bench``. It builds an index of 93 cameras x 15 days x 60 s segments (2,008,800
rows, loaded with COPY) with the objects of the oldest day on disk (133,920 small files; plus the
newest 20 segments of each camera, which the purge's store check samples). With "now" set so
that the cutoff falls on that day's end, each round times, on the same prepared state:

- ours: ``recordings.purge.purge_run`` (rows marked destroyed, day keys destroyed, register and
  audit events written, objects deleted);
- the baseline: ``find <day folders> -delete`` then ``DELETE FROM recordings_segment WHERE
  state = 'stored' AND ended_at <= cutoff`` (the partial index on live segments).

Before each timing the day is put back the same way for both sides: its rows deleted and copied
in again with their ids (state stored), its day keys restored, ``VACUUM ANALYZE``, its objects
rewritten and ``sync``. Each round prints its ratio ours / baseline; the last line gives the
median ratio over the rounds and the spread.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMERAS = 93
DAYS = 15
SEGMENT = 60
PER_DAY = 86400 // SEGMENT
DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csu_bench")
SCRATCH = Path(tempfile.mkdtemp(prefix="csu-bench-purge-"))

os.environ["DATABASE_URL"] = DATABASE
os.environ["CSU_DATA_DIR"] = str(SCRATCH)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

SEGMENT_COLUMNS = (
    "id, camera_id, started_at, ended_at, size, sha256, key_id, storage_path, codec, frames, "
    "state, stored_at, clock_source"
)


def create_database() -> None:
    import psycopg

    name = DATABASE.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Bench:
    """The index, the objects on disk, and how to put the purged day back."""

    def __init__(self) -> None:
        from django.conf import settings

        self.media = Path(settings.MEDIA_ROOT)
        self.on_disk: list[str] = []
        self.day_rows = ""  # COPY text of the oldest day's rows, ids included
        self.day_keys: dict[int, bytes] = {}  # pk -> wrapped, of the oldest day's keys
        self.due = 0

    def load(self) -> None:
        from django.db import connection

        from cameras.models import Camera
        from recordings import crypto, keys, purge
        from recordings.models import DataKey, Segment

        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE recordings_destructionrecord, recordings_purgerun, recordings_hold, "
                "recordings_segment, recordings_datakey, recordings_recorderlease CASCADE"
            )
            # Raw SQL: the ORM's cascade collector would visit every app's tables.
            cursor.execute("DELETE FROM cameras_camera WHERE code LIKE %s", ["BENCH-%"])
        cameras = Camera.objects.bulk_create(
            Camera(
                code=f"BENCH-{n:03d}",
                name=f"Caméra {n}",
                sector="bench",
                kind="fixed",
                stream_url="rtsp://192.0.2.1/stream",
                retention_days=DAYS,
            )
            for n in range(1, CAMERAS + 1)
        )
        base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=DAYS + 1
        )
        self.as_of = base + timedelta(days=DAYS + 1)  # the cutoff falls on the first day's end
        self.cutoff = self.as_of - timedelta(days=DAYS)
        master = keys.master_keys()[0]
        day_keys = {}
        for camera in cameras:
            for day in range(DAYS):
                key_id = crypto.data_key_id(camera.code, (base + timedelta(days=day)).date(), 1)
                day_keys[camera.pk, day] = key_id
        DataKey.objects.bulk_create(
            DataKey(
                camera_id=camera_pk,
                day=(base + timedelta(days=day)).date(),
                key_id=key_id,
                wrapped=master.wrap(key_id, crypto.new_data_key()),
                master_fingerprint=master.fingerprint.hex(),
            )
            for (camera_pk, day), key_id in day_keys.items()
        )
        key_pks = dict(DataKey.objects.values_list("key_id", "pk"))
        self.day_keys = {
            pk: bytes(wrapped)
            for pk, wrapped in DataKey.objects.filter(day=base.date()).values_list("pk", "wrapped")
        }

        started = time.perf_counter()
        buffer = io.StringIO()
        day = io.StringIO()
        sha = "0" * 64
        row_id = 0
        for camera in cameras:
            for index in range(DAYS * PER_DAY):
                row_id += 1
                start = base + timedelta(seconds=SEGMENT * index)
                path = f"segments/{camera.code}/{start:%Y/%m/%d/%H%M%S}-{index:012x}.csuseg"
                key = key_pks[day_keys[camera.pk, index // PER_DAY]]
                line = (
                    f"{row_id}\t{camera.pk}\t{start.isoformat()}\t"
                    f"{(start + timedelta(seconds=SEGMENT)).isoformat()}\t256\t{sha}\t{key}\t"
                    f"{path}\th264\t0\tstored\t{self.as_of.isoformat()}\t\n"
                )
                buffer.write(line)
                if index < PER_DAY:
                    day.write(line)
                if index < PER_DAY or index >= DAYS * PER_DAY - purge.SAMPLE_SIZE:
                    self.on_disk.append(path)
        self.day_rows = day.getvalue()
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY recordings_segment ({SEGMENT_COLUMNS}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('recordings_segment', 'id'), %s)", [row_id]
            )
            cursor.execute("VACUUM ANALYZE recordings_segment")
        del buffer
        print(
            f"index: {Segment.objects.count():,} segments loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )
        self.due = Segment.objects.filter(state="stored", ended_at__lte=self.cutoff).count()
        self.write_objects()
        print(
            f"store: {len(self.on_disk):,} objects on disk, {self.due:,} segments due at "
            f"{self.as_of:%Y-%m-%d %H:%M} UTC"
        )

    def write_objects(self) -> None:
        blob = os.urandom(256)
        for path in self.on_disk:
            target = self.media / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        os.sync()

    def put_back(self) -> None:
        """The oldest day as loaded: rows stored (same ids), keys live, objects on disk."""
        from django.db import connection

        from recordings.models import DataKey

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM recordings_segment WHERE ended_at <= %s", [self.cutoff])
            with cursor.copy(f"COPY recordings_segment ({SEGMENT_COLUMNS}) FROM STDIN") as copy:
                copy.write(self.day_rows)
        for pk, wrapped in self.day_keys.items():
            DataKey.objects.filter(pk=pk).update(wrapped=wrapped, destroyed_at=None)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE recordings_segment")
            cursor.execute("VACUUM ANALYZE recordings_datakey")
        self.write_objects()

    def ours(self, profile: bool) -> float:
        from recordings import purge

        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        began = time.perf_counter()
        result = purge.purge_run(now=self.as_of, job_id="bench")
        elapsed = time.perf_counter() - began
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        assert result.state == "done", result
        assert result.segments == self.due, (result.segments, self.due)
        left = [p for p in self.on_disk[:PER_DAY] if (self.media / p).exists()]
        assert not left, left[:5]
        print(
            f"  ours: purge_run destroyed {result.segments:,} segments, {result.keys} day keys, "
            f"{len(result.entries)} register entries in {elapsed:.2f} s"
        )
        return elapsed

    def baseline(self) -> float:
        from django.db import connection

        # Each camera's first on-disk path lies in its oldest day's folder (base is UTC midnight).
        day_folders = sorted(
            {
                str(self.media / p.rsplit("/", 1)[0])
                for p in self.on_disk[:: PER_DAY + self.sample_size()]
            }
        )
        began = time.perf_counter()
        subprocess.run(["find", *day_folders, "-delete"], check=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM recordings_segment WHERE state = 'stored' AND ended_at <= %s",
                [self.cutoff],
            )
            deleted = cursor.rowcount
        elapsed = time.perf_counter() - began
        assert deleted == self.due, (deleted, self.due)
        print(
            f"  baseline: find -delete ({len(day_folders)} day folders) + one DELETE of "
            f"{deleted:,} rows in {elapsed:.2f} s"
        )
        return elapsed

    @staticmethod
    def sample_size() -> int:
        from recordings import purge

        return purge.SAMPLE_SIZE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--profile", action="store_true", help="cProfile ours in round 1")
    args = parser.parse_args()
    create_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    bench = Bench()
    bench.load()
    ratios = []
    for round_no in range(1, args.rounds + 1):
        print(f"round {round_no}:")
        bench.put_back()
        ours = bench.ours(profile=args.profile and round_no == 1)
        bench.put_back()
        baseline = bench.baseline()
        ratios.append(ours / baseline)
        print(f"  ratio {ratios[-1]:.2f}")
    print(
        f"RESULT purge time_ratio={statistics.median(ratios):.2f} "
        f"(rounds {len(ratios)}, min {min(ratios):.2f}, max {max(ratios):.2f}) target<=1.5"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(SCRATCH)], check=False)
