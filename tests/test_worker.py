"""Task wiring with a real Celery worker process over the configured broker."""

from __future__ import annotations

import time

import pytest

from audit import tasks
from audit.models import ChainCheckpoint
from tests.workers import start_worker


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_signs_the_chain_head(tmp_path):
    log = tmp_path / "worker.log"
    worker = start_worker(log)
    try:
        tasks.sign_chain_head.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ChainCheckpoint.objects.exists():
            assert worker.poll() is None, log.read_text()
            time.sleep(0.5)
        assert ChainCheckpoint.objects.exists(), log.read_text()
        assert "audit.tasks.sign_chain_head" in log.read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
