"""Fault injection with real processes: a worker SIGKILLed mid-export, a purge process killed
between batches, the broker down when the purge is enqueued, the recorder's database backend
terminated while it records.

Each ends with nothing lost, nothing half-written visible, and the job finished after recovery
or clearly failed with an alert.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.utils import timezone

from audit.models import AuditEvent
from cameras.models import Camera
from csu import settings as process_settings
from evidence import export as builder
from evidence import manifest, packages, services
from evidence.models import Export, Status
from recordings import purge, remux, store
from recordings.models import DestructionRecord, PurgeRun, Segment
from recordings.recorder import run_recorder
from tests import workers
from tests.cameras.factories import AuthorizationFactory
from tests.quality.conftest import record_camera
from tests.quality.test_faults import approved_requisition
from tests.recordings.media import h264_clip
from tests.recordings.retention import assert_consistent, make_camera, record_segments

#: What the extractions here pursue (CSI L251-2).
PURPOSE = "atteintes_personnes_biens"

pytestmark = [
    pytest.mark.worker,
    pytest.mark.xdist_group("celery-worker"),
    pytest.mark.django_db(transaction=True),
]

postgres_only = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL (pg_terminate_backend)",
)


def _wait(condition, timeout: float, logs: list[Path] = (), interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    tails = "\n".join(p.read_text(errors="replace")[-4000:] for p in logs if p.exists())
    pytest.fail(f"timed out after {timeout} s; logs:\n{tails}")


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _environment(**extra: str) -> dict[str, str]:
    """A process of the application on the test database, with the test process's keys."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csu.settings",
        "DATABASE_URL": workers.database_url(),
        "CSU_AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
        "CSU_MASTER_KEY": settings.RECORDINGS_MASTER_KEY,
        "CSU_EVIDENCE_SIGNING_KEY": settings.EVIDENCE_SIGNING_KEY,
        "CSU_STREAM_CREDENTIALS_KEY": settings.CSU_STREAM_CREDENTIALS_KEY,
        "SECRET_KEY": settings.SECRET_KEY,
        "CSU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **extra,
    }


# --- A worker killed during an export -------------------------------------------------------


def test_a_worker_killed_during_an_export_leaves_nothing_visible_then_fails_and_reruns(
    tmp_path, settings, opj, magistrate, supervisor
):
    # Workers keep packages under the process's data folder, where the filesystem broker's
    # queue lives too: the test reads them there (the quality fixture moved DATA_DIR away).
    settings.DATA_DIR = process_settings.DATA_DIR
    requisition = approved_requisition(record_camera(tmp_path), opj, magistrate)
    logs = [tmp_path / "killed.log", tmp_path / "second.log"]
    # csu's app with each export step slowed to 1 s, so that the kill lands mid-package.
    first = workers.start_worker(
        logs[0], queues="celery", name="export-killed", app="tests.quality.slow_exports"
    )
    second = None
    try:
        export = services.export_start(
            requisition=requisition, purpose=PURPOSE, actor=supervisor
        )  # the broker
        running = Export.objects.filter(pk=export.pk, state=Export.State.RUNNING, progress__gt=1)
        _wait(running.exists, 60, logs[:1])  # claimed, and at least one clip step done
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        export.refresh_from_db()
        requisition.refresh_from_db()
        # Nothing half-written visible: not ready, no package announced, nothing to download.
        assert export.state == Export.State.RUNNING and export.started_at is not None
        assert export.package_path == "" and not export.package_key
        assert requisition.status != Status.READY
        assert not AuditEvent.objects.filter(
            action__in=["export.ready", "export.failed"], target_id=str(requisition.pk)
        ).exists()
        # A redelivered task (acks_late) does not build the same export a second time.
        assert builder.export_build(export.pk).state == Export.State.RUNNING

        # A run younger than the task's hard time limit may still be alive: left alone.
        assert services.exports_fail_stalled() == []
        later = timezone.now() + packages.STALLED_AFTER + timedelta(minutes=1)
        assert services.exports_fail_stalled(now=later) == [export.pk]
        export.refresh_from_db()
        requisition.refresh_from_db()
        assert export.state == Export.State.FAILED and export.error
        assert requisition.status == Status.APPROVED  # can be exported again
        assert AuditEvent.objects.filter(
            action="export.failed", target_id=str(requisition.pk)
        ).exists()
        assert not packages.package_path(export).exists()  # the partial package went

        # Rerun through the broker on a healthy worker: built, signed with the same key.
        second = workers.start_worker(logs[1], queues="celery", name="export-rerun")
        rerun = services.export_start(requisition=requisition, purpose=PURPOSE, actor=supervisor)
        _wait(
            lambda: Export.objects.filter(
                pk=rerun.pk, state__in=[Export.State.READY, Export.State.FAILED]
            ).exists(),
            90,
            logs[1:],
        )
    finally:
        _stop(first)
        _stop(second)
    rerun.refresh_from_db()
    requisition.refresh_from_db()
    assert rerun.state == Export.State.READY, rerun.error
    assert requisition.status == Status.READY
    assert rerun.key_fingerprint == manifest.signer().fingerprint
    assert packages.package_bytes(rerun)[:4] == b"PK\x03\x04"  # decrypts whole


# --- A purge process killed between batches; the broker down at enqueue ----------------------

PURGE_UNTIL_FIRST_BATCH = textwrap.dedent(
    """
    import sys, time
    from recordings import purge
    original = purge._destroy_batch
    def destroy_then_hang(*args, **kwargs):
        entries = original(*args, **kwargs)
        if entries:  # committed; its objects not deleted yet
            print("COMMITTED", flush=True)
            time.sleep(300)
        return entries
    purge._destroy_batch = destroy_then_hang
    print(purge.purge_run(batch_size=2, job_id="to-be-killed").state, flush=True)
    """
)


def _read_until(process: subprocess.Popen, marker: str, timeout: float) -> str:
    seen = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = process.stdout.readline()
                if not line:
                    break
                seen += line
    return seen


def test_a_purge_killed_between_batches_is_finished_by_the_next_run(tmp_path):
    now = timezone.now()
    cameras = [make_camera(f"CAM-P{i}", retention_days=3) for i in range(2)]
    for camera in cameras:
        record_segments(camera, now - timedelta(days=8), 3)
        record_segments(camera, now - timedelta(days=1), 2)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", PURGE_UNTIL_FIRST_BATCH],
        cwd=workers.ROOT,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = _read_until(process, "COMMITTED", 60)
        assert "COMMITTED" in output, output + (process.stdout.read() if process.poll() else "")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        process.stdout.close()

    # What the kill left: the run "running", one committed batch whose objects are still there.
    killed = PurgeRun.objects.get(job_id="to-be-killed")
    assert killed.state == PurgeRun.State.RUNNING
    entry = DestructionRecord.objects.get()
    assert entry.segment_count == 2 and entry.objects_deleted_at is None
    destroyed = list(Segment.objects.filter(state=Segment.State.DESTROYED))
    assert len(destroyed) == 2
    assert all(default_storage.exists(s.storage_path) for s in destroyed)
    assert sorted(store.reconcile().objects_without_rows) == sorted(
        s.storage_path for s in destroyed
    )

    if connection.vendor == "postgresql":
        # The advisory lock died with the process: the next run takes over at once.
        _wait(lambda: purge.purge_run(now=now).state != "busy", 10)
    else:
        # Without the lock, the heartbeat decides: a fresh one keeps others out...
        assert purge.purge_run(now=now).state == "busy"
        assert not PurgeRun.objects.filter(state=PurgeRun.State.DONE).exists()
        # ...until it is older than RECORDINGS_PURGE_STALE_MINUTES.
        PurgeRun.objects.filter(pk=killed.pk).update(heartbeat_at=now - timedelta(hours=1))
        assert purge.purge_run(now=now).state == PurgeRun.State.DONE

    killed.refresh_from_db()
    assert killed.state == PurgeRun.State.INTERRUPTED
    assert not PurgeRun.objects.filter(state=PurgeRun.State.RUNNING).exists()
    assert PurgeRun.objects.filter(state=PurgeRun.State.DONE).count() == 1
    assert_consistent(now)  # store, index and register agree; counted once
    assert Segment.objects.filter(state=Segment.State.DESTROYED).count() == 6
    report = store.reconcile()
    assert report.objects_without_rows == [] and report.rows_without_objects == []


ENQUEUE_PURGE = textwrap.dedent(
    """
    import sys
    from recordings.tasks import purge_recordings
    try:
        purge_recordings.delay()
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc)
        sys.exit(3)
    print("QUEUED")
    """
)


def test_enqueueing_the_purge_with_the_broker_down_fails_clearly_and_leaves_no_run():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ENQUEUE_PURGE],
        cwd=workers.ROOT,
        env=_environment(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),  # nothing listens there
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "ERROR OperationalError" in result.stdout
    assert "127.0.0.1:1" in result.stdout  # says which broker could not be reached
    assert time.monotonic() - started < 60  # gives up, instead of hanging the caller
    assert not PurgeRun.objects.exists()  # nothing claimed a run that will never happen
    # The next purge is not blocked by anything the failed enqueue left.
    assert purge.purge_run().state == PurgeRun.State.DONE


# --- The recorder's database connection terminated ------------------------------------------


def _database_clock() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _terminate_backends_opened_since(since: datetime) -> list[int]:
    """The backends opened since ``since`` (the recorder's): not the connections that other
    fixtures of this worker (a live server's thread) opened before the test, which the next
    test would find closed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_start >= %s",
            [since],
        )
        return [pid for pid, done in cursor.fetchall() if done]


@postgres_only
def test_the_recorder_reconnects_after_its_database_backend_is_terminated(tmp_path, settings):
    clip = h264_clip(tmp_path / "source.mp4", seconds=2, gop=6, audio=False)
    camera = Camera.objects.create(
        code="CAM-DB1",
        name="Parvis",
        sector="centre",
        kind="fixe",
        stream_url=f"file://{clip}",
        authorization=AuthorizationFactory(),
    )
    stop = threading.Event()
    outcome: list[str] = []

    def recorder() -> None:
        try:
            outcome.append(
                run_recorder(
                    camera.pk,
                    "fault-recorder",
                    stop=stop,
                    remux_settings=remux.RemuxSettings(segment_seconds=1.0),
                    renew_every=0.3,
                )
            )
        finally:
            connections.close_all()  # this thread's connection, as a Celery worker would

    segments = Segment.objects.filter(camera=camera)
    thread = threading.Thread(target=recorder, daemon=True)
    opened_after = _database_clock()
    thread.start()
    try:
        _wait(lambda: segments.count() >= 2, 30, interval=0.2)
        killed_at = timezone.now()
        before = segments.count()
        # The recorder's segment and lease connections.
        assert _terminate_backends_opened_since(opened_after)
        _wait(lambda: segments.count() >= before + 3 or not thread.is_alive(), 30, interval=0.2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert outcome == ["stopped"], outcome  # it went on recording, it did not fail
    assert segments.filter(started_at__gt=killed_at).count() >= 2

    # At most the segment being recorded at the kill is lost.
    ordered = list(segments.order_by("started_at"))
    for previous, following in pairwise(ordered):
        assert following.started_at >= previous.ended_at, "overlapping segments"
    holes = [
        (following.started_at - previous.ended_at).total_seconds()
        for previous, following in pairwise(ordered)
    ]
    assert max(holes) < 2.5, holes

    # No row without its object; an object without a row can only come from the kill window.
    report = store.reconcile()
    assert report.rows_without_objects == []
    assert len(report.objects_without_rows) <= 1, report.objects_without_rows
    for name in report.objects_without_rows:
        assert name.startswith(f"segments/{camera.code}/")
    # Past retention, the purge sweeps such orphans with the rest: store and index agree.
    later = timezone.now() + timedelta(days=camera.retention_days + 2)
    result = purge.purge_run(now=later)
    assert result.state == PurgeRun.State.DONE
    assert result.orphans == len(report.objects_without_rows)
    after = store.reconcile()
    assert after.objects_without_rows == [] and after.rows_without_objects == []
