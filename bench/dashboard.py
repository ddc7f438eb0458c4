"""Dashboard and statistics latency over one year of activity.

Run from the repository root: ``python bench/dashboard.py [--rounds 40]``. It builds its own
database (SQLite under a scratch folder by default, or the PostgreSQL database
``csu_bench_dash`` with ``--postgres [URL]``), generates a year like the reference city's
(8 operators, 7,800 signalements, 93 cameras with outages, overlapping shifts), then requests as
a signed-in supervisor: the dashboard page, each part of it that the page polls, and the
statistics of the whole year (JSON). It prints p50/p95 per endpoint and the query count of
each, then the cost of one refresh of the page (every part once); the last line compares the
dashboard's worst p95 (page or part) to the target.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Every part of the page is polled every 15 s by every screen of the room; a third of a second
#: leaves the operator no visible wait and the server far from saturation (a few screens per room).
TARGET_P95_MS = 300


def _setup(postgres: str | None) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="csu-bench-dash-"))
    os.environ["CSU_DATA_DIR"] = str(scratch)
    if postgres:
        os.environ["DATABASE_URL"] = postgres
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'csu_bench_dash.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if postgres:
        from tests.append_only import suspended

        with suspended(), connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="postgres://postgres@127.0.0.1:5432/csu_bench_dash",
        help="use PostgreSQL (default URL: the csu_bench_dash database on localhost)",
    )
    args = parser.parse_args()
    _setup(args.postgres)

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from operations.demo import generate_year
    from operations.models import Shift
    from operations.views import DASHBOARD_PARTS
    from recordings.models import RecorderLease
    from tests.conftest import sign_in

    settings.ALLOWED_HOSTS = ["*"]
    # Pages render without collectstatic, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    year = timezone.localdate().year - 1
    started = time.perf_counter()
    data = generate_year(year, operators=8, signalements=7_800, cameras=93, prefix="bench")
    for camera in data.cameras[:10]:
        RecorderLease.objects.create(camera=camera, state=RecorderLease.State.ERROR)
    for person in data.operators[:2]:
        Shift.objects.create(operator=person, started_at=timezone.now())
    print(
        f"generated {data.shifts} shifts, {data.signalements} signalements, "
        f"{data.outages} outages on {len(data.cameras)} cameras "
        f"in {time.perf_counter() - started:.1f} s ({connection.vendor})"
    )
    supervisor = User.objects.create(username="bench.chef", role=Role.SUPERVISOR)
    client = sign_in(Client(), supervisor)
    parts = {f"dashboard part {name}": f"/exploitation/tableau/{name}/" for name in DASHBOARD_PARTS}
    endpoints = {
        "dashboard page": "/exploitation/",
        **parts,
        "statistics JSON (1 year)": f"/api/operations/statistics/?start={date(year, 1, 1)}"
        f"&end={date(year, 12, 31)}",
    }
    results, medians, counts = {}, {}, {}
    for label, url in endpoints.items():
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            assert client.get(url).status_code == 200, url
        timings = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            response = client.get(url)
            if url.startswith("/api/"):
                response.json()
            timings.append((time.perf_counter() - t0) * 1000)
        p50, p95 = _percentile(timings, 0.5), _percentile(timings, 0.95)
        results[label], medians[label], counts[label] = p95, p50, len(queries)
        print(f"{label:34s} p50={p50:7.1f} ms  p95={p95:7.1f} ms  queries={len(queries)}")
    print(
        f"{'one refresh (every part once)':34s} p50 sum={sum(medians[p] for p in parts):6.1f} ms"
        f"  queries={sum(counts[p] for p in parts)}"
    )
    worst = max(results[label] for label in ("dashboard page", *parts))
    print(f"RESULT dashboard p95_ms={worst:.1f} target<={TARGET_P95_MS}")


if __name__ == "__main__":
    main()
