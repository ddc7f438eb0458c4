"""Exports and the procès-verbal state the time source and the clocks measured while the
exported windows were recorded; the audit pack keeps the clock checks of its period."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import pack, registers
from evidence import manifest, services
from evidence.manifest import Clip
from evidence.models import DownloadLink, Export, Requisition
from recordings.models import ClockCheck, ClockSource, Segment
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import pdf_text, released_export
from tests.evidence.factories import RequisitionFactory
from tests.evidence.test_package_outages import handed_over, one_second, package_files, stored
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(opj, magistrate):
    camera = CameraFactory(code="CAM-HORL")
    requisition = RequisitionFactory(actor=opj, camera=camera)
    window = requisition.windows.get()
    segments = record_segments(camera, window.starts_at, 3)
    for segment, offset in zip(segments, (-80.0, -120.0, -6100.0), strict=True):
        Segment.objects.filter(pk=segment.pk).update(clock_offset_ms=offset, clock_source="rtcp")
    start, end = window.starts_at, window.ends_at
    for moment, offset, source, alert in (
        (start - timedelta(hours=2), 0.4, ClockSource.KERNEL, False),  # not around the window
        (start - timedelta(minutes=10), 3.2, ClockSource.KERNEL, False),
        (start + timedelta(minutes=30), 812.0, ClockSource.NTP, True),
        (end + timedelta(minutes=5), 11.0, ClockSource.NTP, False),
    ):
        ClockCheck.objects.create(
            checked_at=moment,
            source=source,
            server="ntp.mairie.example" if source == ClockSource.NTP else "",
            synchronized=True,
            offset_ms=offset,
            error_ms=2.0,
            alert=alert,
        )
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    return Requisition.objects.get(pk=requisition.pk), window, segments


def test_the_manifest_states_the_time_source_and_the_measured_offsets(recorded, supervisor):
    requisition, window, segments = recorded
    clocks = manifest.clock_record(
        [Clip(path="clips/01.mp4", window=window, segments=segments, method="copy")]
    )
    checks = clocks["server_checks"]
    assert [c["offset_ms"] for c in checks] == [3.2, 812.0, 11.0]  # before, during, after
    assert checks[1]["alert"] and checks[1]["server"] == "ntp.mairie.example"
    assert checks[0]["checked_at"]["utc"].endswith("Z")
    (camera,) = clocks["cameras"]
    assert camera == {
        "window": window.pk,
        "camera": "CAM-HORL",
        "min_offset_ms": -6100.0,
        "max_offset_ms": -80.0,
        "segments_measured": 3,
        "sources": ["rtcp"],
    }
    export = Export.objects.create(requisition=requisition, prepared_by=supervisor)
    body = manifest.render(
        export=export,
        files=[],
        skipped=[],
        prepared_at=timezone.now(),
        signer=manifest.signer(),
        clocks=clocks,
    )
    stated = json.loads(body)["time_source"]
    assert stated["images_dated_by"] == "server_arrival_clock"
    assert stated["cameras"][0]["min_offset_ms"] == -6100.0


def test_the_record_of_handover_states_the_clocks(recorded, supervisor, opj, signed_in):
    requisition, window, segments = recorded
    clocks = manifest.clock_record(
        [Clip(path="clips/01.mp4", window=window, segments=segments, method="copy")]
    )
    export = released_export(requisition, supervisor)
    Export.objects.filter(pk=export.pk).update(clocks=clocks)
    assert signed_in(opj).post(f"/requisitions/{requisition.pk}/telechargement/").status_code == 200
    link = DownloadLink.objects.get(export=export, used_at__isnull=False)
    text = " ".join(pdf_text(bytes(link.handover_record)).split()).replace("\u2212", "-")
    assert "Source de l'heure" in text and "horloge du serveur d'enregistrement" in text
    assert "requête NTP au serveur configuré (ntp.mairie.example) : écart +812,0 ms" in text
    assert "hors tolérance" in text
    assert "CAM-HORL : de -6100 ms à -80 ms (rapports RTCP de la caméra, 3 segments)" in text


def test_the_audit_pack_has_the_clock_checks_of_its_period(recorded):
    _requisition, window, _segments = recorded
    assert "controles-horloge" in pack.SECTIONS
    register = registers.REGISTERS["controles-horloge"]
    rows = register.rows(
        window.starts_at - timedelta(minutes=30), window.ends_at + timedelta(hours=1)
    )
    server = [r for r in rows if r[1] == "Serveur"]
    assert [r[3] for r in server] == ["3,2", "812,0", "11,0"]
    assert server[1][6] == "oui"
    (camera,) = [r for r in rows if r[1] == "Caméra CAM-HORL"]
    assert camera[2] == "rapports RTCP de la caméra"
    assert camera[3] == "-6100,0 … -80,0" and camera[6] == "oui"
    assert "3 segments mesurés" in camera[7]


def test_a_built_package_states_the_clocks_of_its_window(opj, magistrate, supervisor):
    t0 = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    camera = CameraFactory(code="CAM-HORL2")
    payload = one_second("libx264")
    for second in range(3):
        segment = stored(camera, t0 + timedelta(seconds=second), payload, "h264")
        Segment.objects.filter(pk=segment.pk).update(
            clock_offset_ms=-150.0 - second, clock_source="rtcp"
        )
    ClockCheck.objects.create(
        checked_at=t0 - timedelta(minutes=3),
        source=ClockSource.KERNEL,
        synchronized=True,
        offset_ms=0.8,
        error_ms=1.5,
    )
    export, pv = handed_over(camera, t0, t0 + timedelta(seconds=3), opj, magistrate, supervisor)
    files = package_files(export)
    stated = json.loads(files[manifest.MANIFEST_NAME])["time_source"]
    assert [c["offset_ms"] for c in stated["server_checks"]] == [0.8]
    assert stated["cameras"][0]["min_offset_ms"] == -152.0
    assert stated["cameras"][0]["max_offset_ms"] == -150.0
    assert export.clocks == stated
    for document in (files[manifest.PV_NAME], pv):  # the preparation sheet and the record
        text = " ".join(pdf_text(document).split()).replace("\u2212", "-")
        assert "Source de l'heure" in text
        assert "état de synchronisation du noyau (adjtimex) : écart +0,8 ms" in text
        assert "CAM-HORL2 : de -152 ms à -150 ms" in text
