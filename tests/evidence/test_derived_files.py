"""Export packages are derived files with their own limits: one nobody collected is destroyed
after its time, a delivered one when the requisition closes, the file of a killed build by the
sweep; each destruction is in the register of derived files."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance.registers import REGISTERS
from evidence import export as builder
from evidence import packages, selectors, services, tasks
from evidence.models import Export, Requisition, Status
from tests.evidence.documents import ready_export, released_export
from tests.evidence.factories import RequisitionFactory

#: What the extractions here pursue (CSI L251-2).
PURPOSE = "atteintes_personnes_biens"

pytestmark = pytest.mark.django_db

GRACE_DAYS = 7


@pytest.fixture(autouse=True)
def _grace(settings):
    settings.EVIDENCE_UNCLAIMED_DAYS = GRACE_DAYS


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call a service and run what waits for its commit (the files go once it is committed)."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return call


@pytest.fixture
def granted(camera, opj, magistrate):
    def make(procedure: str = "2026/000101"):
        return RequisitionFactory(
            camera=camera, actor=opj, approved_by=magistrate, procedure_number=procedure
        )

    return make


def _file(export: Export):
    return packages.export_folder() / export.package_path


def _register_rows():
    return REGISTERS["fichiers-derives"].rows(None, None)


def test_a_released_package_never_downloaded_is_destroyed_after_its_grace(
    granted, supervisor, committed
):
    requisition = granted()
    export = released_export(requisition, supervisor)
    link = export.links.get()
    path = _file(export)
    assert path.exists()

    # The authorization still runs, then the grace after its expiry: nothing happens.
    assert (
        committed(services.exports_destroy_unclaimed, now=link.expires_at - timedelta(hours=1))
        == []
    )
    just_before = link.expires_at + timedelta(days=GRACE_DAYS) - timedelta(minutes=1)
    assert committed(services.exports_destroy_unclaimed, now=just_before) == []
    assert path.exists()

    after = link.expires_at + timedelta(days=GRACE_DAYS, minutes=1)
    assert committed(services.exports_destroy_unclaimed, now=after) == [export.pk]

    assert not path.exists()
    export.refresh_from_db()
    requisition.refresh_from_db()
    assert export.state == Export.State.DESTROYED and export.deleted_at == after
    assert requisition.status == Status.APPROVED
    event = AuditEvent.objects.get(action="export.package_destroyed")
    assert event.target_id == str(requisition.pk)
    assert event.details["sha256"] == export.package_sha256
    assert event.details["bytes"] == export.package_size
    assert event.details["reference"] == requisition.reference
    assert event.details["cause"] == "unclaimed"
    (row,) = _register_rows()
    assert row[1:5] == [
        "Paquet d'extraction",
        requisition.reference,
        str(export.package_size),
        export.package_sha256,
    ]
    assert "jamais téléchargé" in row[5]
    # The package was built all the same: both registers of extractions still list it.
    assert export in selectors.extraction_register()
    assert requisition.reference in [r[1] for r in REGISTERS["extractions"].rows(None, None)]
    # A second run finds nothing more.
    assert committed(services.exports_destroy_unclaimed, now=after + timedelta(days=1)) == []


def test_a_package_within_its_link_survives_the_run_that_destroys_another(
    granted, supervisor, committed
):
    old = released_export(granted("2026/000201"), supervisor)
    expiry = old.links.get().expires_at
    run = expiry + timedelta(days=GRACE_DAYS, hours=1)
    fresh_requisition = granted("2026/000202")
    fresh = released_export(fresh_requisition, supervisor)
    # Its link was issued later: a new authorization running at the time of the run.
    fresh.links.update(expires_at=run + timedelta(hours=2))

    assert committed(services.exports_destroy_unclaimed, now=run) == [old.pk]

    assert _file(fresh).exists()
    fresh.refresh_from_db()
    fresh_requisition.refresh_from_db()
    assert fresh.deleted_at is None and fresh.state == Export.State.READY
    assert fresh_requisition.status == Status.READY


def test_a_package_never_released_goes_after_the_grace_from_its_preparation(
    granted, supervisor, committed
):
    export = ready_export(granted(), supervisor)
    assert export.finished_at is not None
    within = export.finished_at + timedelta(days=GRACE_DAYS) - timedelta(minutes=1)
    assert committed(services.exports_destroy_unclaimed, now=within) == []
    assert _file(export).exists()

    later = export.finished_at + timedelta(days=GRACE_DAYS, minutes=1)
    assert committed(services.exports_destroy_unclaimed, now=later) == [export.pk]
    assert not _file(export).exists()
    event = AuditEvent.objects.get(action="export.package_destroyed")
    assert event.details["cause"] == "never_released"
    assert "jamais libéré" in event.reason


def test_after_destruction_a_new_link_is_refused_in_french_and_the_export_can_be_redone(
    granted, supervisor, committed, signed_in
):
    requisition = granted()
    export = released_export(requisition, supervisor)
    now = export.links.get().expires_at + timedelta(days=GRACE_DAYS + 1)
    committed(services.exports_destroy_unclaimed, now=now)
    requisition.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        services.link_reissue(requisition=requisition, actor=supervisor)
    assert "a été détruit" in refused.value.messages[0]
    assert "préparez une nouvelle extraction" in refused.value.messages[0]

    api = signed_in(supervisor).post(f"/api/requisitions/{requisition.pk}/reissue/")
    assert api.status_code == 400 and "a été détruit" in str(api.json())
    page = signed_in(supervisor).get(f"/requisitions/{requisition.pk}/").content.decode()
    assert "Paquet détruit le" in page and "Préparer l'extraction</button>" in page
    assert "Autoriser un nouveau téléchargement" not in page

    # The footage is still held while the requisition runs: the package can be made again.
    assert all(w.hold and w.hold.released_at is None for w in services.export_windows(requisition))
    again = services.export_start(requisition=requisition, purpose=PURPOSE, actor=supervisor)
    requisition.refresh_from_db()
    assert requisition.status == Status.EXPORTING
    assert again.pk != export.pk and again.state == Export.State.QUEUED


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.REJECTED, Status.EXPIRED])
def test_the_package_of_a_requisition_that_ended_goes_at_the_next_run(
    granted, supervisor, committed, status
):
    ended = ready_export(granted("2026/000401"), supervisor)
    running = released_export(granted("2026/000402"), supervisor)
    # A file left from before (a status set outside the services, an earlier version).
    Requisition.objects.filter(pk=ended.requisition_id).update(status=status)

    assert committed(services.exports_destroy_unclaimed, now=timezone.now()) == [ended.pk]

    assert not _file(ended).exists() and _file(running).exists()
    event = AuditEvent.objects.get(action="export.package_destroyed")
    assert event.details["cause"] == "finished"
    assert event.target_id == str(ended.requisition_id)


def test_a_downloaded_package_is_not_unclaimed_and_goes_at_the_close_with_its_entry(
    granted, supervisor, committed, opj, settings
):
    requisition = granted()
    export = released_export(requisition, supervisor)
    services.handover_download(requisition=requisition, actor=opj)
    requisition.refresh_from_db()
    assert requisition.status == Status.HANDED_OVER
    far = timezone.now() + timedelta(days=GRACE_DAYS + 10)
    assert committed(services.exports_destroy_unclaimed, now=far) == []
    assert _file(export).exists()

    late = requisition.handed_over_at + timedelta(days=settings.EVIDENCE_HANDOVER_GRACE_DAYS + 1)
    committed(services.requisitions_escalate_and_close, now=late)

    requisition.refresh_from_db()
    assert requisition.status == Status.CLOSED
    assert not _file(export).exists()
    event = AuditEvent.objects.get(action="export.package_destroyed")
    assert event.details["cause"] == "closed"
    assert event.details["sha256"] == export.package_sha256
    assert [row[1] for row in _register_rows()] == ["Paquet d'extraction"]


def test_a_build_interrupted_midway_leaves_no_file(granted, supervisor, monkeypatch):
    requisition = granted()
    export = services.export_start(requisition=requisition, purpose=PURPOSE, actor=supervisor)

    def interrupted(export, target):
        target.write(b"PK\x03\x04 partial clip")
        raise KeyboardInterrupt

    monkeypatch.setattr(builder, "build_package", interrupted)
    with pytest.raises(KeyboardInterrupt):
        builder.export_build(export.pk)

    assert not packages.package_path(export).exists()
    assert list(packages.export_folder().iterdir()) == []


def _aged(path, now, age: timedelta):
    moment = (now - age).timestamp()
    os.utime(path, (moment, moment))


def test_the_sweep_deletes_only_stale_files_no_package_points_to(granted, supervisor):
    now = timezone.now()
    live = ready_export(granted("2026/000301"), supervisor)
    _aged(_file(live), now, timedelta(days=3))
    building = services.export_start(
        requisition=granted("2026/000302"), purpose=PURPOSE, actor=supervisor
    )
    in_progress = packages.package_path(building)
    in_progress.write_bytes(b"still being written")
    _aged(in_progress, now, timedelta(hours=5))
    killed = packages.export_folder() / "999999.csuseg"
    killed.write_bytes(b"x" * 1234)
    _aged(killed, now, packages.STALLED_AFTER + timedelta(minutes=1))
    young = packages.export_folder() / "999998.csuseg"
    young.write_bytes(b"a build may still own it")
    _aged(young, now, packages.STALLED_AFTER - timedelta(minutes=5))

    assert services.export_files_sweep(now=now) == ["999999.csuseg"]

    assert not killed.exists()
    assert _file(live).exists() and in_progress.exists() and young.exists()
    event = AuditEvent.objects.get(action="export.orphans_deleted")
    assert event.details == {"files": ["999999.csuseg"], "bytes": 1234}
    (row,) = _register_rows()
    assert row[1:4] == ["Fichier temporaire", "999999.csuseg", "1234"]
    assert services.export_files_sweep(now=now) == []
    assert AuditEvent.objects.filter(action="export.orphans_deleted").count() == 1


def test_the_hourly_task_destroys_unclaimed_packages_and_sweeps(granted, supervisor, committed):
    export = released_export(granted(), supervisor)
    export.links.update(
        issued_at=timezone.now() - timedelta(days=GRACE_DAYS + 5),
        expires_at=timezone.now() - timedelta(days=GRACE_DAYS + 1),
    )
    stray = packages.export_folder() / "424242.csuseg"
    stray.write_bytes(b"left by a killed build")
    _aged(stray, timezone.now(), timedelta(days=1))

    committed(tasks.expire_and_close_requisitions)

    assert not _file(export).exists() and not stray.exists()
    assert {row[1] for row in _register_rows()} == {"Paquet d'extraction", "Fichier temporaire"}
