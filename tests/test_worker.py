"""Task wiring with a real Celery worker process over the configured broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from audit import tasks
from audit.models import ChainCheckpoint

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_signs_the_chain_head(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CSU_AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "csu",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            f"--hostname=test-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / "worker.log", "wb"),  # noqa: SIM115  (closed with the process)
        stderr=subprocess.STDOUT,
    )
    try:
        tasks.sign_chain_head.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ChainCheckpoint.objects.exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
        log = (tmp_path / "worker.log").read_text()
        assert ChainCheckpoint.objects.exists(), log
        assert "audit.tasks.sign_chain_head" in log
    finally:
        worker.terminate()
        worker.wait(timeout=30)
