"""Fixed data for the document tests: a night shift across the autumn change, a released export."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pdfplumber

from evidence import services
from evidence.models import Export, Requisition, Status
from evidence.packages import package_path
from recordings import crypto, keys
from tests.evidence.factories import RequisitionFactory

#: 26 October 2025, Paris: 03:00 CEST becomes 02:00 CET; 02:00–03:00 happens twice.
#: 00:10 CEST = 22:10 UTC (25th); 02:30 CEST (first) = 00:30 UTC; 02:30 CET (second) = 01:30 UTC.
BEFORE = datetime(2025, 10, 25, 22, 10, tzinfo=UTC)  # 26/10/2025 00:10:00 Paris (UTC+02:00)
FIRST_0230 = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30:00 (UTC+02:00)
SECOND_0230 = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 02:30:00 (UTC+01:00)
AFTER = datetime(2025, 10, 26, 3, 45, tzinfo=UTC)  # 26/10/2025 04:45:00 Paris (UTC+01:00)

#: How each instant must read for people.
PARIS_TEXT = {
    BEFORE: "26/10/2025 00:10:00",
    FIRST_0230: "26/10/2025 02:30:00 (UTC+02:00)",
    SECOND_0230: "26/10/2025 02:30:00 (UTC+01:00)",
    AFTER: "26/10/2025 04:45:00",
}
#: The same instants as the UTC clock of a careless page would show them.
UTC_TEXT = {
    BEFORE: "25/10/2025 22:10:00",
    FIRST_0230: "26/10/2025 00:30:00",
    SECOND_0230: "26/10/2025 01:30:00",
    AFTER: "26/10/2025 03:45:00",
}


def night_requisition(officer, cameras, procedure: str = "2025/DST-1") -> Requisition:
    """Two windows on the night of the change: one before it, one across the repeated hour."""
    first, second = cameras
    return RequisitionFactory(
        procedure_number=procedure,
        facts="Rixe devant le bar, nuit du changement d'heure.",
        justification="Identifier les auteurs.",
        windows=[
            services.WindowRequest(first.code, BEFORE, FIRST_0230),
            services.WindowRequest(second.code, SECOND_0230, AFTER),
        ],
        actor=officer,
    )


def released_export(
    requisition: Requisition, supervisor, *, files: list[dict] | None = None
) -> Export:
    """A ready, released export (no footage needed: the documents read its file list)."""
    export = ready_export(requisition, supervisor, files=files)
    services.export_release(requisition=requisition, actor=supervisor)
    export.refresh_from_db()
    return export


def ready_export(
    requisition: Requisition, supervisor, *, files: list[dict] | None = None
) -> Export:
    """A ready export, not released yet."""
    Requisition.objects.filter(pk=requisition.pk).update(status=Status.READY)
    files = files or [
        {
            "path": "clips/01_CAM-DST1_20251026T003000+0200.mp4",
            "sha256": hashlib.sha256(b"clip").hexdigest(),
            "size": 12_345_678,
            "kind": "clip",
        }
    ]
    export = Export.objects.create(
        requisition=requisition,
        prepared_by=supervisor,
        state=Export.State.READY,
        progress=100,
        finished_at=AFTER,
        package_path="absent.csuseg",
        package_size=98_765_432,
        package_sha256=hashlib.sha256(b"package").hexdigest(),
        key_fingerprint=hashlib.sha256(b"key").hexdigest(),
        files=files,
    )
    _store_package(export, b"PK\x05\x06" + b"\0" * 18)  # an empty ZIP archive
    requisition.refresh_from_db()
    export.refresh_from_db()
    return export


def _store_package(export: Export, data: bytes) -> None:
    """Write ``data`` as the export's package, encrypted as the builder does."""
    master = keys.master_keys()[0]
    key_id = f"evidence-export/{export.pk}"
    data_key = crypto.new_data_key()
    path = package_path(export)
    with open(path, "wb") as handle, crypto.EncryptingWriter(handle, data_key, key_id) as sink:
        sink.write(data)
    Export.objects.filter(pk=export.pk).update(
        package_path=path.name,
        package_key_id=key_id,
        package_key=master.wrap(key_id, data_key),
        package_sha256=hashlib.sha256(data).hexdigest(),
    )


def pdf_text(data: bytes) -> str:
    import io

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def checked(page: str, name: str, value: str) -> bool:
    """Whether the page's input ``name``=``value`` is checked (as the browser would show it)."""
    import re

    return any(
        f'name="{name}"' in tag and f'value="{value}"' in tag and re.search(r"\schecked", tag)
        for tag in re.findall(r"<input[^>]*>", page)
    )
