"""The whole journey through the API with segments made by the real recorder."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
import time
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditEvent
from cameras.models import Camera
from evidence import manifest, services
from evidence.models import Requisition, Status
from recordings import remux
from recordings.models import Hold, Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import AuthorizationFactory
from tests.evidence.conftest import intake_payload
from tests.recordings.media import h264_clip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorded_camera(tmp_path):
    clip = h264_clip(tmp_path / "source.mp4", seconds=2, gop=6, audio=False)
    camera = Camera.objects.create(
        code="CAM-E2E",
        name="Rue de Boigne",
        address="12 rue de Boigne, Chambéry",
        sector="centre",
        kind="fixe",
        authorization=AuthorizationFactory(),
        stream_url=f"file://{clip}",
    )
    stop = threading.Event()
    timer = threading.Timer(4.5, stop.set)
    timer.start()
    try:
        run_recorder(
            camera.pk,
            "test-recorder",
            stop=stop,
            remux_settings=remux.RemuxSettings(segment_seconds=1.0),
            renew_every=0.5,
        )
    finally:
        timer.cancel()
    assert Segment.objects.filter(camera=camera).count() >= 3
    return camera


def _verify_with_bundled_script(folder) -> subprocess.CompletedProcess:
    fingerprint = manifest.signer().fingerprint  # the city's, as its public page states it
    return subprocess.run(
        [sys.executable, str(folder / "verify.py"), "--fingerprint", fingerprint],
        capture_output=True,
        text=True,
        check=False,
    )


def test_requisition_journey_from_intake_to_verified_download(
    recorded_camera,
    opj,
    opj_other_service,
    magistrate,
    supervisor,
    signed_in,
    eager_celery,
    tmp_path,
):
    segments = list(Segment.objects.filter(camera=recorded_camera).order_by("started_at"))
    start, end = segments[0].started_at, segments[-1].ended_at
    # A file:// source runs on its media clock: its last segment may end a moment from now.
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()) + 0.1)
    officer = signed_in(opj)

    # Intake: the window is frozen at once.
    response = officer.post(
        "/api/requisitions/", intake_payload(recorded_camera.code, start=start, end=end)
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "submitted"
    assert body["windows"][0]["held"] is True
    requisition = Requisition.objects.get(pk=body["id"])
    hold = Hold.objects.get(reference_id=str(requisition.pk))
    assert hold.released_at is None and hold.camera == recorded_camera

    # The magistrate opens the file (still submitted), starts examining it, approves it.
    judge = signed_in(magistrate)
    assert judge.get(f"/api/requisitions/{requisition.pk}/").json()["status"] == "submitted"
    review = judge.post(f"/api/requisitions/{requisition.pk}/review/")
    assert review.json()["status"] == "under_review"
    response = judge.post(
        f"/api/requisitions/{requisition.pk}/decision/",
        {"outcome": "approve_all", "reason": "Nécessaire à la manifestation de la vérité."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"

    # The supervisor exports (the task runs eagerly here), checks and releases.
    chief = signed_in(supervisor)
    response = chief.post(
        f"/api/requisitions/{requisition.pk}/export/",
        {"purpose": "atteintes_personnes_biens"},
        content_type="application/json",
    )
    assert response.status_code == 202, response.json()
    detail = chief.get(f"/api/requisitions/{requisition.pk}/").json()
    assert detail["status"] == "ready", detail["export"]
    assert detail["export"]["progress"] == 100
    response = chief.post(f"/api/requisitions/{requisition.pk}/release/")
    assert response.status_code == 201, response.json()
    assert "url" not in response.json()  # nothing to copy: the officer downloads himself
    url = f"/api/requisitions/{requisition.pk}/download/"

    # Another service does not see it; a GET takes nothing; the recipient downloads once.
    assert signed_in(opj_other_service).post(url).status_code == 404
    assert officer.get(url).status_code == 405
    response = officer.post(url)
    assert response.status_code == 200
    package = b"".join(response.streaming_content)
    assert hashlib.sha256(package).hexdigest() == response["X-Content-SHA256"]
    again = officer.post(url)
    assert again.status_code == 400
    assert "déjà été téléchargée" in again.json()["detail"]
    requisition.refresh_from_db()
    assert requisition.status == Status.HANDED_OVER

    # Verification OK, by the command and by the bundled script, of the archive as served
    # (ZIP64, streamed entries) and of the folder extracted from it.
    (tmp_path / "paquet.zip").write_bytes(package)
    call_command("verify_export", str(tmp_path / "paquet.zip"), stdout=io.StringIO())
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        archive.extractall(tmp_path / "package")
    (folder,) = (tmp_path / "package").iterdir()
    call_command("verify_export", str(folder), stdout=io.StringIO())
    result = _verify_with_bundled_script(folder)
    assert result.returncode == 0 and result.stdout.startswith("OK"), result.stdout
    (clip,) = (folder / "clips").iterdir()
    assert (folder / "fiche-de-preparation.pdf").read_bytes().startswith(b"%PDF")

    # A byte flipped in the clip: the verifier names that clip.
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))
    result = _verify_with_bundled_script(folder)
    assert result.returncode == 1
    assert f"ÉCHEC fichier clips/{clip.name}" in result.stdout
    with pytest.raises(CommandError):
        call_command("verify_export", str(folder), stdout=io.StringIO())

    # After the grace period the requisition closes and its hold is released.
    services.requisitions_escalate_and_close(now=timezone.now() + timedelta(days=400))
    requisition.refresh_from_db()
    hold.refresh_from_db()
    assert requisition.status == Status.CLOSED
    assert hold.released_at is not None
    assert requisition.exports.get().deleted_at is not None
    actions = set(
        AuditEvent.objects.filter(target_id=str(requisition.pk)).values_list("action", flat=True)
    )
    assert {
        "requisition.submitted",
        "requisition.under_review",
        "requisition.approved",
        "export.started",
        "export.ready",
        "export.released",
        "export.link_issued",
        "export.downloaded",
        "export.download_refused",
        "requisition.closed",
    } <= actions
