"""The CNIL audit pack: complete for its period and nothing more, signed, retention explained."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from compliance import pack
from recordings.holds import hold_place
from recordings.models import Hold
from tests.cameras.factories import CameraFactory
from tests.compliance import factories
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, timezone.get_current_timezone())


@pytest.fixture
def month(clock, supervisor, dpo):
    """A month of activity, with the same kinds of activity just before and just after it."""
    today = timezone.localdate()
    start = _midnight(today - timedelta(days=60))
    end = _midnight(today - timedelta(days=30))
    held, unheld = CameraFactory(code="CAM-GEL"), CameraFactory(code="CAM-LIBRE")
    inside = {"accesses": [], "extractions": [], "handovers": [], "destructions": [], "sources": []}
    outside = {
        "accesses": [],
        "extractions": [],
        "handovers": [],
        "destructions": [],
        "sources": [],
    }
    moments = {
        "inside": [start + timedelta(days=d, hours=10) for d in (0, 7, 14, 29)],
        "outside": [start - timedelta(hours=1), end + timedelta(minutes=1)],
    }
    for where, bucket in (("inside", inside), ("outside", outside)):
        for index, moment in enumerate(moments[where]):
            camera = held if index % 2 else unheld
            with clock(moment):
                event = record(
                    "recording.playback",
                    actor=supervisor,
                    target=camera,
                    reason=f"Relecture {where} {index} : recherche d'un véhicule",
                )
                bucket["accesses"].append(event.seq)
            number = f"2026/{where}-{index}"
            export = factories.export(number, moment, supervisor)
            bucket["extractions"].append(export.requisition.reference)
            factories.handover(export, moment + timedelta(minutes=10), supervisor)
            bucket["handovers"].append(export.requisition.reference)
            entry = factories.destruction(camera, moment + timedelta(minutes=30))
            bucket["destructions"].append(entry.digest)
            with clock(moment + timedelta(minutes=40)):
                changed = record(
                    "camera.source_changed",
                    actor=supervisor,
                    target=camera,
                    details={
                        "from": f"rtsp://10.20.0.{index}/{where}",
                        "to": f"rtsp://10.20.1.{index}/{where}",
                        "credentials": "kept",
                    },
                )
                bucket["sources"].append(changed.seq)
    # Retention: the held camera keeps footage past its 15 days under a hold; the other
    # camera's oldest footage is three days old.
    now = timezone.now()
    record_segments(held, now - timedelta(days=20), 3)
    record_segments(unheld, now - timedelta(days=3), 3)
    hold = hold_place(
        camera=held,
        starts_at=now - timedelta(days=21),
        ends_at=now - timedelta(days=19),
        basis=Hold.Basis.MANUAL,
        reason="Procédure en cours",
        justification="Demande orale du parquet, réquisition à suivre.",
        case_reference="Parquet 26/123",
        expires_at=now + timedelta(days=30),
        actor=supervisor,
    )
    return {
        "start": start,
        "end": end,
        "inside": inside,
        "outside": outside,
        "hold": hold,
        "dpo": dpo,
    }


def _rows(archive: zipfile.ZipFile, root: str, name: str) -> list[list[str]]:
    text = archive.read(f"{root}/{name}").decode("utf-8-sig")
    if text.startswith("# "):  # the audit journal opens with how to recompute its hashes
        text = text.split("\r\n", 1)[1]
    return list(csv.reader(io.StringIO(text), delimiter=";"))[1:]


def _build(month, tmp_path):
    name, data = pack.build(start=month["start"], end=month["end"], actor=month["dpo"])
    path = tmp_path / name
    path.write_bytes(data)
    archive = zipfile.ZipFile(path)
    root = name.removesuffix(".zip")
    return path, archive, root


def test_audit_pack_lists_every_entry_of_the_month_and_nothing_else(month, tmp_path):
    _path, archive, root = _build(month, tmp_path)
    inside, outside = month["inside"], month["outside"]

    accesses = _rows(archive, root, "registres/acces-images.csv")
    seqs = [int(row[1]) for row in accesses]
    assert seqs == inside["accesses"]
    assert all("Relecture inside" in row[6] for row in accesses)  # each with its reason

    extractions = [row[1] for row in _rows(archive, root, "registres/extractions.csv")]
    assert extractions == inside["extractions"]
    handovers = [row[1] for row in _rows(archive, root, "registres/remises.csv")]
    assert handovers == inside["handovers"]
    destructions = [row[7] for row in _rows(archive, root, "registres/destructions.csv")]
    assert destructions == inside["destructions"]
    sources = _rows(archive, root, "registres/sources-cameras.csv")
    assert [int(row[1]) for row in sources] == inside["sources"]
    assert all(row[3].startswith("rtsp://10.20.0.") for row in sources)

    events = _rows(archive, root, "journal-audit.csv")
    in_period = AuditEvent.objects.filter(
        occurred_at__gte=month["start"], occurred_at__lt=month["end"]
    )
    assert [int(row[0]) for row in events] == sorted(in_period.values_list("seq", flat=True))
    assert not set(outside["accesses"]) & {int(row[0]) for row in events}

    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    assert manifest["counts"]["acces-images"] == 4
    assert manifest["counts"]["extractions"] == 4
    assert manifest["counts"]["sources-cameras"] == 4
    readme = archive.read(f"{root}/LISEZMOI.txt").decode()
    assert "= + - @" in readme and "retirez la première apostrophe" in readme
    report = archive.read(f"{root}/rapport-de-controle.pdf")
    assert report.startswith(b"%PDF")


def test_audit_pack_holds_the_destructions_of_derived_files_of_its_period(month, tmp_path, clock):
    inside = month["start"] + timedelta(days=3)
    outside = month["end"] + timedelta(hours=2)
    for moment, name in ((inside, "dedans.csuseg"), (outside, "dehors.csuseg")):
        with clock(moment):
            record(
                "export.orphans_deleted",
                actor="evidence.tasks",
                target_type="evidence.exports",
                target_id="exports",
                reason="Fichiers d'extraction qu'aucun paquet enregistré ne désigne",
                details={"files": [name], "bytes": 4096},
            )
    _path, archive, root = _build(month, tmp_path)

    rows = _rows(archive, root, "registres/fichiers-derives.csv")
    assert [row[1:4] for row in rows] == [["Fichier temporaire", "dedans.csuseg", "4096"]]
    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    assert manifest["counts"]["fichiers-derives"] == 1


def test_audit_pack_signature_verifies_and_tampering_is_named(month, tmp_path):
    path, archive, root = _build(month, tmp_path)
    assert pack.verify(path) == []
    call_command("verify_audit_pack", str(path))

    folder = tmp_path / "extrait"
    archive.extractall(folder)
    target = folder / root / "registres" / "destructions.csv"
    target.write_bytes(target.read_bytes().replace(b"CAM-", b"CAX-", 1))
    failures = pack.verify(folder / root)
    assert failures == [
        f"ÉCHEC fichier registres/destructions.csv : empreinte SHA-256 différente "
        f"({hashlib.sha256(target.read_bytes()).hexdigest()})"
    ]
    with pytest.raises(CommandError):
        call_command("verify_audit_pack", str(folder / root))


def test_audit_pack_retention_section_for_a_held_and_an_unheld_camera(month, tmp_path):
    _path, archive, root = _build(month, tmp_path)
    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    retention = {line["camera"]: line for line in manifest["retention"]}
    assert retention["CAM-GEL"]["status"] == "held"
    assert any("Procédure" in h or "Gel manuel" in h for h in retention["CAM-GEL"]["holds"])
    assert retention["CAM-LIBRE"]["status"] == "not_due"
    assert retention["CAM-LIBRE"]["holds"] == []


def test_an_overdue_unheld_segment_is_reported_non_compliant(month):
    Hold.objects.filter(pk=month["hold"].pk).update(
        released_at=timezone.now(), release_reason="fin", released_by_name="chef"
    )
    lines = {line.camera: line for line in pack.retention_compliance()}
    assert lines["CAM-GEL"].status == "overdue"
    assert "NON CONFORME" in lines["CAM-GEL"].status_label


def test_building_the_pack_is_audited(month, tmp_path):
    _build(month, tmp_path)
    event = AuditEvent.objects.get(action="compliance.audit_pack_built")
    assert event.actor_id == month["dpo"].pk


def test_the_pack_is_named_after_the_first_and_last_days_it_covers():
    # The period is [start, end): January's pack ends at midnight on 1 February, excluded.
    start = datetime(2026, 1, 1, tzinfo=timezone.get_current_timezone())
    end = datetime(2026, 2, 1, tzinfo=timezone.get_current_timezone())
    assert pack.package_name(start, end) == "dossier-controle-20260101-20260131"
    assert pack.package_name(start, start + timedelta(days=1)) == (
        "dossier-controle-20260101-20260101"
    )
