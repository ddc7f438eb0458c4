"""Fault injection: the database, the broker, the object store and a worker fail mid-job.

Each ends with nothing lost, nothing half-written visible, and the job either finished after
recovery or clearly failed with an alert (an audit event and a visible state).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from evidence import export as builder
from evidence import manifest, packages, services
from evidence.models import Export, Requisition, Status
from recordings.models import Hold, Segment
from tests import workers
from tests.evidence.conftest import intake_payload
from tests.evidence.factories import RequisitionFactory
from tests.quality.conftest import record_camera

#: What the extractions here pursue (CSI L251-2).
PURPOSE = "atteintes_personnes_biens"

pytestmark = pytest.mark.django_db(transaction=True)

postgres_only = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL (backend termination, row locks across processes)",
)


def approved_requisition(camera, opj, magistrate) -> Requisition:
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    end = segments[-1].ended_at
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()) + 0.1)
    requisition = RequisitionFactory(
        procedure_number="2026/000999",
        camera=camera,
        starts_at=segments[0].started_at,
        ends_at=end,
        actor=opj,
        approved_by=magistrate,
        approved_by__reason="Oui.",
    )
    requisition.refresh_from_db()
    assert requisition.status == Status.APPROVED
    return requisition


def start_export(requisition, supervisor, monkeypatch) -> Export:
    """Start the export without running its task (the test runs or kills it)."""
    from evidence import tasks

    monkeypatch.setattr(tasks.build_export, "delay", lambda export_id: None)
    return services.export_start(requisition=requisition, purpose=PURPOSE, actor=supervisor)


def package_files() -> list[Path]:
    folder = packages.export_folder()
    return [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []


def assert_failed_visibly(export: Export, requisition: Requisition) -> None:
    export.refresh_from_db()
    requisition.refresh_from_db()
    assert export.state == Export.State.FAILED and export.error
    assert requisition.status == Status.APPROVED  # ready to be exported again
    assert AuditEvent.objects.filter(action="export.failed", target_id=str(requisition.pk)).exists()
    assert package_files() == []
    assert Hold.objects.filter(reference_id=str(requisition.pk), released_at=None).exists()


def rerun_and_check(requisition, supervisor, monkeypatch) -> None:
    export = start_export(requisition, supervisor, monkeypatch)
    builder.export_build(export.pk)
    export.refresh_from_db()
    requisition.refresh_from_db()
    assert export.state == Export.State.READY, export.error
    assert requisition.status == Status.READY
    assert len(package_files()) == 1
    assert packages.package_bytes(export)  # decrypts whole: nothing half-written


@pytest.fixture
def requisition(tmp_path, opj, magistrate):
    return approved_requisition(record_camera(tmp_path), opj, magistrate)


def test_object_store_full_at_intake_stores_nothing_and_says_so(
    tmp_path, opj, signed_in, monkeypatch
):
    camera = record_camera(tmp_path, seconds=2.5)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    default_storage.exists("probe")  # the lazy storage is set up: patch its class
    monkeypatch.setattr(type(default_storage._wrapped), "save", full)
    end = Segment.objects.filter(camera=camera).latest("ended_at").ended_at
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()) + 0.1)
    response = signed_in(opj).post("/api/requisitions/", intake_payload(camera.code, end=end))
    assert response.status_code == 503, response.content
    assert "espace" in response.json()["detail"].lower()
    assert not Requisition.objects.exists()
    assert not Hold.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "evidence" / "attachments").exists() or not any(
        (Path(settings.MEDIA_ROOT) / "evidence" / "attachments").iterdir()
    )


def test_disk_full_during_an_export_fails_it_clearly_then_a_rerun_succeeds(
    requisition, supervisor, monkeypatch
):
    export = start_export(requisition, supervisor, monkeypatch)
    original = builder.build_package

    def fills_the_disk(export, target):
        target.write(b"PK\x03\x04" + b"\x00" * 4096)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(builder, "build_package", fills_the_disk)
    builder.export_build(export.pk)
    assert_failed_visibly(export, requisition)
    monkeypatch.setattr(builder, "build_package", original)
    rerun_and_check(requisition, supervisor, monkeypatch)


@postgres_only
def test_database_connection_killed_during_an_export(requisition, supervisor, monkeypatch):
    """pg_terminate_backend on the builder's connection at its first progress step."""
    import psycopg

    export = start_export(requisition, supervisor, monkeypatch)
    original = manifest.Progress.step
    killed = []

    def step(self, label, share=None):
        if not killed:
            pid = connection.cursor().connection.info.backend_pid
            db = connection.settings_dict
            with psycopg.connect(
                host=db["HOST"] or "127.0.0.1",
                port=db["PORT"] or 5432,
                user=db["USER"] or "postgres",
                dbname=db["NAME"],
                autocommit=True,
            ) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
            killed.append(pid)
        return original(self, label, share)

    monkeypatch.setattr(manifest.Progress, "step", step)
    builder.export_build(export.pk)
    assert killed
    connection.close()
    assert_failed_visibly(export, requisition)
    monkeypatch.setattr(manifest.Progress, "step", original)
    rerun_and_check(requisition, supervisor, monkeypatch)


ENQUEUE = textwrap.dedent(
    """
    import django, os, sys
    django.setup()
    from accounts.models import User
    from evidence import services
    from evidence.models import Requisition
    requisition = Requisition.objects.get(pk=int(sys.argv[1]))
    actor = User.objects.get(pk=int(sys.argv[2]))
    try:
        services.export_start(
            requisition=requisition, purpose="atteintes_personnes_biens", actor=actor
        )
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc)
        sys.exit(3)
    print("QUEUED")
    """
)


def test_an_unreachable_broker_gives_a_clear_error_and_no_stuck_export(
    requisition, supervisor, tmp_path
):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csu.settings",
        "DATABASE_URL": workers.database_url(),
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # nothing listens there
        "CSU_AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
        "CSU_MASTER_KEY": settings.RECORDINGS_MASTER_KEY,
        "SECRET_KEY": settings.SECRET_KEY,
        "CSU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", ENQUEUE, str(requisition.pk), str(supervisor.pk)],
        cwd=workers.ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "ERROR" in result.stdout
    requisition.refresh_from_db()
    # Nothing half-written: no export waiting forever for a task that was never queued.
    assert not Export.objects.filter(state__in=["queued", "running"]).exists()
    assert requisition.status == Status.APPROVED
    assert AuditEvent.objects.filter(action="export.failed", target_id=str(requisition.pk)).exists()


def test_an_export_left_running_by_a_dead_worker_is_failed_with_an_alert_then_rerun(
    requisition, supervisor, monkeypatch
):
    """What a SIGKILLed worker leaves: the claim, a partial package file, no announcement."""
    export = start_export(requisition, supervisor, monkeypatch)
    claimed_at = timezone.now()
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.RUNNING, progress=40, started_at=claimed_at
    )
    packages.package_path(export).write_bytes(b"partial")
    # Within the task's time limit the run may still be alive: left alone.
    assert services.exports_fail_stalled(now=claimed_at + timedelta(hours=1)) == []
    assert package_files()
    assert services.exports_fail_stalled(now=claimed_at + timedelta(hours=5)) == [export.pk]
    assert_failed_visibly(export, requisition)
    rerun_and_check(requisition, supervisor, monkeypatch)
