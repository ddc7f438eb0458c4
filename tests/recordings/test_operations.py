"""The recorders' state for the control room, and the store/index reconciliation report."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from cameras.models import CameraStatus
from recordings import keys, selectors
from recordings.models import Gap, RecorderLease, Segment
from tests.cameras.factories import CameraFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

WATCHERS = [Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN]


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_SEGMENT_SECONDS = 60


def add_segment(camera, *, ended_ago: float, size: int = 1000, path: str | None = None):
    key, _ = keys.day_key(camera, timezone.localdate())
    end = timezone.now() - timedelta(seconds=ended_ago)
    return Segment.objects.create(
        camera=camera,
        started_at=end - timedelta(seconds=60),
        ended_at=end,
        size=size,
        sha256="0" * 64,
        key=key,
        storage_path=path or f"segments/{camera.code}/{uuid.uuid4().hex}.csuseg",
        codec="h264",
    )


def lease(camera, *, state=RecorderLease.State.RECORDING, expires_in: float = 20, **extra):
    now = timezone.now()
    return RecorderLease.objects.create(
        camera=camera,
        holder="recorder@test:1",
        acquired_at=now - timedelta(hours=1),
        renewed_at=now,
        expires_at=now + timedelta(seconds=expires_in),
        state=state,
        **extra,
    )


def recording_camera(code: str):
    camera = CameraFactory(code=code)
    lease(camera, bitrate=2_000_000)
    add_segment(camera, ended_ago=10, size=1500)
    add_segment(camera, ended_ago=70, size=2500)
    return camera


def test_operations_view_flags_a_camera_that_stopped_recording(signed_in, operator):
    recording_camera("CAM-OK")
    lapsed = CameraFactory(code="CAM-LAPSED")
    lease(lapsed, expires_in=-5)
    add_segment(lapsed, ended_ago=400)
    silent = CameraFactory(code="CAM-SILENT")
    lease(silent)
    add_segment(silent, ended_ago=121)  # more than twice the 60 s segment length
    Gap.objects.create(
        camera=silent, started_at=timezone.now() - timedelta(seconds=110), reason="connection lost"
    )
    never = CameraFactory(code="CAM-NEVER")
    failed = CameraFactory(code="CAM-ERROR")
    lease(failed, state=RecorderLease.State.ERROR, expires_in=-1, last_error="error: boom")
    CameraFactory(code="CAM-MAINT", status=CameraStatus.MAINTENANCE)  # not expected to record
    CameraFactory(code="CAM-GONE", status=CameraStatus.DECOMMISSIONED)

    rows = {row.camera.code: row for row in selectors.operations_board()}
    assert "CAM-GONE" not in rows
    assert rows["CAM-OK"].state == "recording" and not rows["CAM-OK"].alert
    assert rows["CAM-OK"].storage_bytes == 4000
    assert rows["CAM-OK"].bitrate == 2_000_000
    assert rows["CAM-LAPSED"].state == "stopped" and rows["CAM-LAPSED"].alert
    assert rows["CAM-LAPSED"].bitrate == 0
    assert rows["CAM-SILENT"].state == "recording" and "120" in rows["CAM-SILENT"].alert
    assert rows["CAM-SILENT"].gap_reason == "connection lost"
    assert rows[never.code].state == "stopped" and rows[never.code].alert
    assert rows["CAM-ERROR"].state == "error" and "boom" in rows["CAM-ERROR"].alert
    assert rows["CAM-MAINT"].state == "stopped" and not rows["CAM-MAINT"].alert
    # Cameras not recording come first.
    codes = [row.camera.code for row in selectors.operations_board()]
    assert set(codes[:4]) == {"CAM-LAPSED", "CAM-SILENT", "CAM-NEVER", "CAM-ERROR"}

    page = signed_in(operator).get("/enregistrements/exploitation/")
    assert page.status_code == 200
    assert page.context["alerts"][0].camera.code in {"CAM-LAPSED", "CAM-SILENT", "CAM-ERROR"}
    text = page.content.decode()
    assert "4 caméras n'enregistrent pas" in text
    assert text.index("CAM-LAPSED") < text.index("CAM-OK")

    api = signed_in(operator).get("/api/recordings/operations/")
    assert api.status_code == 200
    by_code = {row["camera"]: row for row in api.json()}
    assert by_code["CAM-LAPSED"]["state"] == "stopped" and by_code["CAM-LAPSED"]["alert"]
    assert by_code["CAM-OK"]["alert"] == "" and by_code["CAM-OK"]["storage_bytes"] == 4000


def test_query_count_does_not_grow_with_the_number_of_cameras(
    signed_in, operator, django_assert_max_num_queries
):
    client = signed_in(operator)
    recording_camera("CAM-Q0")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/enregistrements/exploitation/").status_code == 200
    with CaptureQueriesContext(connection) as few_api:
        assert client.get("/api/recordings/operations/").status_code == 200
    for n in range(1, 12):
        camera = recording_camera(f"CAM-Q{n}")
        Gap.objects.create(camera=camera, started_at=timezone.now(), reason="x")
    with django_assert_max_num_queries(2):
        assert len(selectors.operations_board()) == 12
    with django_assert_max_num_queries(len(few)):
        client.get("/enregistrements/exploitation/")
    with django_assert_max_num_queries(len(few_api)):
        client.get("/api/recordings/operations/")


def test_operations_page_and_api_permissions():
    recording_camera("CAM-P1")
    check_matrix(url="/enregistrements/exploitation/", allowed=WATCHERS)
    check_matrix(url="/api/recordings/operations/", allowed=WATCHERS, api=True)


# --- Reconciliation ---------------------------------------------------------------------------


def test_reconcile_reports_agreement(capsys):
    camera = CameraFactory(code="CAM-REC")
    segment = add_segment(camera, ended_ago=10)
    default_storage.save(segment.storage_path, ContentFile(b"x"))
    call_command("reconcile_recordings")
    assert "agree" in capsys.readouterr().out


def test_reconcile_reports_both_kinds_of_disagreement_and_deletes_nothing(capsys):
    camera = CameraFactory(code="CAM-REC")
    missing = add_segment(camera, ended_ago=10, path="segments/CAM-REC/missing.csuseg")
    orphan = default_storage.save("segments/CAM-REC/orphan.csuseg", ContentFile(b"x"))
    with pytest.raises(CommandError, match="1 object\\(s\\) without row, 1 row\\(s\\) without"):
        call_command("reconcile_recordings")
    out = capsys.readouterr().out
    assert "segments/CAM-REC/orphan.csuseg" in out
    assert f"segment {missing.pk} CAM-REC" in out
    assert default_storage.exists(orphan)
    assert Segment.objects.filter(pk=missing.pk).exists()
