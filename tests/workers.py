"""Real Celery worker processes for the few tests of task wiring, on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def start_worker(
    log: Path,
    *,
    queues: str = "celery",
    name: str = "test",
    pool: str = "solo",
    app: str = "csu",
    **env: str,
) -> subprocess.Popen:
    """A worker process on the test database and the configured broker; its output goes to log.

    It uses the test process's keys, so that what one writes the other can read and verify.
    ``app`` may name a test module that wraps csu.celery's app (to slow a task down, say).
    """
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CSU_AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
        "CSU_MASTER_KEY": settings.RECORDINGS_MASTER_KEY,
        "CSU_EVIDENCE_SIGNING_KEY": settings.EVIDENCE_SIGNING_KEY,
        "CSU_STREAM_CREDENTIALS_KEY": settings.CSU_STREAM_CREDENTIALS_KEY,
        "SECRET_KEY": settings.SECRET_KEY,
        "CSU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **env,
    }
    command = [
        sys.executable, "-m", "celery", "-A", app, "worker", f"--queues={queues}",
        f"--pool={pool}", "--loglevel=INFO", f"--hostname={name}-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if pool == "threads":
        command.append("--concurrency=4")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
