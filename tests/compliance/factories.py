"""Rows of the other apps built directly, at chosen dates, for the registers and the pack."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cameras.models import Camera
from evidence.models import DownloadLink, Export, Requisition
from recordings.models import DestructionRecord, PurgeRun
from tests.factories import ServiceFactory, UserFactory


def requisition(number: str, at: datetime) -> Requisition:
    officer = UserFactory(role="opj", service=ServiceFactory())
    return Requisition.objects.create(
        procedure_number=number,
        legal_frame="60-1",
        officer=officer,
        service=officer.service,
        facts="Vol à l'arraché.",
        justification="Identifier l'auteur.",
        status="handed_over",
        submitted_at=at,
        decided_at=at,
        attachment_name="r.pdf",
        attachment_type="application/pdf",
        attachment_size=10,
        attachment_sha256="0" * 64,
        attachment_path=f"requisitions/{number}.bin",
        attachment_key_id=f"req/{number}",
        attachment_key=b"k",
    )


def export(number: str, at: datetime, prepared_by) -> Export:
    return Export.objects.create(
        requisition=requisition(number, at - timedelta(hours=2)),
        state=Export.State.READY,
        prepared_by=prepared_by,
        finished_at=at,
        package_sha256=hashlib.sha256(number.encode()).hexdigest(),
        files=[{"path": "clips/01.mp4"}],
    )


def handover(export_: Export, at: datetime, issued_by) -> DownloadLink:
    return DownloadLink.objects.create(
        export=export_,
        recipient=export_.requisition.officer,
        token_hash=hashlib.sha256(f"{export_.pk}-{at}".encode()).hexdigest(),
        issued_by=issued_by,
        issued_at=at - timedelta(hours=1),
        expires_at=at + timedelta(days=1),
        used_at=at,
    )


def destruction(
    camera: Camera, at: datetime, *, start: datetime | None = None
) -> DestructionRecord:
    start = start or at - timedelta(days=camera.retention_days, hours=1)
    run = PurgeRun.objects.create(
        job_id=f"job-{camera.code}-{at.timestamp()}",
        as_of=at,
        started_at=at,
        heartbeat_at=at,
        finished_at=at,
        state=PurgeRun.State.DONE,
    )
    return DestructionRecord.objects.create(
        run=run,
        camera=camera,
        window_start=start,
        window_end=start + timedelta(hours=1),
        segment_count=60,
        bytes=6000,
        digest=hashlib.sha256(f"{camera.code}{at}".encode()).hexdigest(),
        destroyed_at=at,
        objects_deleted_at=at,
    )
