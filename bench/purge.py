"""Retention purge cost: our purge next to ``find -delete`` plus one indexed ``DELETE``.

Run from the repository root: ``python bench/purge.py``. It needs PostgreSQL on 127.0.0.1
(user postgres, no password, or set BENCH_DATABASE_URL) and creates the database ``csu_bench``.
It builds an index of 93 cameras x 15 days x 60 s segments (2,008,800 rows, loaded with COPY)
with the objects of the oldest day on disk (133,920 small files; plus the newest 20 segments of
each camera, which the purge's store check samples), then, with "now" set so that the cutoff
falls on that day's end, purges it with ``recordings.purge.purge_run``. Everything is then put
back (rows marked stored, files rewritten) and the same day is removed the plain way:
``find <day folders> -delete`` then ``DELETE FROM recordings_segment WHERE state = 'stored' AND
ended_at <= cutoff``. The last line is the wall-time ratio ours / baseline.
"""

from __future__ import annotations

import io
import os
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


def create_database() -> None:
    import psycopg

    name = DATABASE.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    create_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from cameras.models import Camera
    from recordings import crypto, keys, purge
    from recordings.models import DataKey, Segment

    call_command("migrate", verbosity=0)
    media = Path(settings.MEDIA_ROOT)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE recordings_destructionrecord, recordings_purgerun, recordings_hold, "
            "recordings_segment, recordings_datakey, recordings_recorderlease CASCADE"
        )
    Camera.objects.filter(code__startswith="BENCH-").delete()
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
    as_of = base + timedelta(days=DAYS + 1)  # the cutoff falls on the first day's end
    cutoff = as_of - timedelta(days=DAYS)
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

    started = time.perf_counter()
    on_disk: list[str] = []
    buffer = io.StringIO()
    sha = "0" * 64
    for camera in cameras:
        for index in range(DAYS * PER_DAY):
            start = base + timedelta(seconds=SEGMENT * index)
            path = f"segments/{camera.code}/{start:%Y/%m/%d/%H%M%S}-{index:012x}.csuseg"
            key = key_pks[day_keys[camera.pk, index // PER_DAY]]
            buffer.write(
                f"{camera.pk}\t{start.isoformat()}\t"
                f"{(start + timedelta(seconds=SEGMENT)).isoformat()}\t256\t{sha}\t{key}\t"
                f"{path}\th264\t0\tstored\t{as_of.isoformat()}\n"
            )
            if index < PER_DAY or index >= DAYS * PER_DAY - purge.SAMPLE_SIZE:
                on_disk.append(path)
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY recordings_segment (camera_id, started_at, ended_at, size, sha256, key_id, "
            "storage_path, codec, frames, state, stored_at) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        cursor.execute("VACUUM ANALYZE recordings_segment")
    del buffer
    print(
        f"index: {Segment.objects.count():,} segments loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )

    def write_objects() -> None:
        blob = os.urandom(256)
        for path in on_disk:
            target = media / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        os.sync()

    due = Segment.objects.filter(state="stored", ended_at__lte=cutoff).count()
    write_objects()
    print(
        f"store: {len(on_disk):,} objects on disk, {due:,} segments due at "
        f"{as_of:%Y-%m-%d %H:%M} UTC"
    )

    # --- ours
    began = time.perf_counter()
    result = purge.purge_run(now=as_of, job_id="bench")
    ours = time.perf_counter() - began
    assert result.state == "done", result
    assert result.segments == due, (result.segments, due)
    left = [p for p in on_disk[:10] if (media / p).exists()]
    assert not left, left
    print(
        f"ours: purge_run destroyed {result.segments:,} segments, {result.keys} day keys, "
        f"{len(result.entries)} register entries in {ours:.2f} s"
    )

    # --- put the day back, then the baseline
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE recordings_segment SET state = 'stored', destroyed_at = NULL "
            "WHERE state = 'destroyed'"
        )
        cursor.execute("VACUUM ANALYZE recordings_segment")
    write_objects()
    # Each camera's first on-disk path lies in its oldest day's folder (base is UTC midnight).
    day_folders = sorted(
        {str(media / p.rsplit("/", 1)[0]) for p in on_disk[:: PER_DAY + purge.SAMPLE_SIZE]}
    )
    began = time.perf_counter()
    subprocess.run(["find", *day_folders, "-delete"], check=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM recordings_segment WHERE state = 'stored' AND ended_at <= %s", [cutoff]
        )
        deleted = cursor.rowcount
    baseline = time.perf_counter() - began
    assert deleted == due, (deleted, due)
    print(
        f"baseline: find -delete ({len(day_folders)} day folders) + one DELETE of "
        f"{deleted:,} rows in {baseline:.2f} s"
    )
    ratio = ours / baseline
    print(f"RESULT purge time_ratio={ratio:.2f} target<=1.5")


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(SCRATCH)], check=False)
