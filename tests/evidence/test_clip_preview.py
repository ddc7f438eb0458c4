"""The supervisor plays the prepared clips (as the officer will get them) before releasing."""

from __future__ import annotations

import io
import zipfile

import pytest

from audit.models import AuditEvent
from evidence import services
from evidence.models import Export, Requisition, Status
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import _store_package, night_requisition

pytestmark = pytest.mark.django_db

CLIP = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 9000  # over two crypto chunks


@pytest.fixture
def ready(opj, magistrate, supervisor):
    requisition = night_requisition(opj, [CameraFactory(), CameraFactory()])
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    Requisition.objects.filter(pk=requisition.pk).update(status=Status.READY)
    export = Export.objects.create(
        requisition=requisition,
        prepared_by=supervisor,
        state=Export.State.READY,
        files=[
            {"path": "clips/01_a.mp4", "sha256": "0" * 64, "size": 4, "kind": "clip"},
            {"path": "clips/02_b.mp4", "sha256": "1" * 64, "size": len(CLIP), "kind": "clip"},
            {"path": "LISEZMOI.txt", "sha256": "2" * 64, "size": 2, "kind": "readme"},
        ],
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{export.package_name}/clips/01_a.mp4", b"abcd")
        archive.writestr(f"{export.package_name}/clips/02_b.mp4", CLIP)
        archive.writestr(f"{export.package_name}/LISEZMOI.txt", b"lu")
    _store_package(export, buffer.getvalue())
    requisition.refresh_from_db()
    return requisition


def test_the_supervisor_plays_a_clip_before_release_and_it_is_audited(ready, supervisor, signed_in):
    chief = signed_in(supervisor)
    page = chief.get(f"/requisitions/{ready.pk}/").content.decode()
    assert f"/requisitions/{ready.pk}/extraction/sequences/2/" in page
    response = chief.get(f"/requisitions/{ready.pk}/extraction/sequences/2/")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content) == CLIP
    event = AuditEvent.objects.get(action="export.clip_viewed")
    assert event.details["clip"] == "clips/02_b.mp4"
    # Not a clip of the package (the README is not a clip): nothing served.
    assert chief.get(f"/requisitions/{ready.pk}/extraction/sequences/3/").status_code == 404


def test_a_supervisor_without_the_extraction_right_cannot_play_it(ready, signed_in):
    from tests.factories import HabilitationFactory, UserFactory

    watcher = UserFactory(role="supervisor")
    HabilitationFactory(user=watcher, all_cameras=True, can_live=True, can_replay=True)
    response = signed_in(watcher).get(f"/requisitions/{ready.pk}/extraction/sequences/1/")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="export.clip_viewed").exists()


def test_the_officer_cannot_play_it(ready, opj, signed_in):
    assert (
        signed_in(opj).get(f"/requisitions/{ready.pk}/extraction/sequences/1/").status_code == 403
    )
