"""Cameras stopped for want of an authorization: why and since when, on the health board and its
API, on the DPO's page with the history of stops and resumptions, and on the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from cameras.models import Camera
from cameras.roles import RECORDING_STOP_READERS
from cameras.services import authorization_record_alert, recording_authorizations_sync
from csu.lib.times import paris_text
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

#: The night of the change to winter time: 02:30 happens twice in Paris.
STOP = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def _expired(number: str = "73-2019-DSC-0001"):
    """Expired before STOP (and today)."""
    return AuthorizationFactory(
        number=number, issued_on=date(2021, 10, 1), expires_on=date(2026, 10, 20)
    )


def _stopped(code: str, authorization=None, at: datetime = STOP) -> Camera:
    camera = CameraFactory(code=code, authorization=authorization)
    recording_authorizations_sync(camera_ids=[camera.pk], now=at)
    camera.refresh_from_db()
    return camera


def test_the_health_api_and_board_say_why_and_since_when(signed_in, supervisor):
    expired = _expired()
    _stopped("CAM-EXP", expired)
    _stopped("CAM-NONE")
    CameraFactory(code="CAM-OK")
    client = signed_in(supervisor)
    rows = {row["code"]: row for row in client.get("/api/cameras/health/").json()}
    assert rows["CAM-EXP"]["unauthorized_reason"] == (
        f"Autorisation 73-2019-DSC-0001 expirée le {expired.expires_on:%d/%m/%Y}."
    )
    assert rows["CAM-EXP"]["unauthorized_since"] == "2026-10-25T00:30:00Z"
    assert rows["CAM-NONE"]["unauthorized_reason"] == "Aucune autorisation préfectorale."
    assert (rows["CAM-OK"]["unauthorized_reason"], rows["CAM-OK"]["unauthorized_since"]) == (
        "",
        None,
    )
    page = client.get("/cameras/sante/").content.decode()
    since = paris_text(STOP, seconds=False)
    assert "(UTC+02:00)" in since  # the first 02:30 of that night, told apart
    assert f"arrêtée depuis le {since}" in page
    assert "Aucune autorisation préfectorale." in page


def test_the_dpo_sees_the_stopped_cameras_and_the_history(signed_in, dpo):
    expired = _expired()
    camera = _stopped("CAM-EXP", expired)
    _stopped("CAM-NONE", at=STOP + timedelta(hours=1))
    # CAM-EXP gets a renewed authorization: it resumes by itself, and the history says so.
    Camera.objects.filter(pk=camera.pk).update(authorization=AuthorizationFactory(number="A-NEW"))
    resumed_at = STOP + timedelta(days=1)
    recording_authorizations_sync(camera_ids=[camera.pk], now=resumed_at)
    page = signed_in(dpo).get("/cameras/arrets-autorisation/").content.decode()
    current, history = page.split("Historique des arrêts et des reprises")
    assert "CAM-NONE" in current and "CAM-EXP" not in current
    assert paris_text(STOP + timedelta(hours=1), seconds=False) in current
    rows = [row for row in history.split("<tr>")[2:]]
    assert len(rows) == 3
    assert "Reprise" in rows[0] and "CAM-EXP" in rows[0] and "A-NEW" in rows[0]
    assert paris_text(STOP) in rows[0]  # stopped since
    assert "Arrêt" in rows[2] and "73-2019-DSC-0001" in rows[2] and "expirée le" in rows[2]


def test_the_stops_page_is_for_the_dpo_supervisors_and_admins():
    _stopped("CAM-NONE")
    check_matrix(url="/cameras/arrets-autorisation/", allowed=RECORDING_STOP_READERS)


def test_the_dashboard_counts_open_alerts_for_supervisors_only(signed_in, supervisor, operator):
    today = timezone.localdate()
    for number in ("A-1", "A-2"):
        expiring = AuthorizationFactory(
            number=number,
            issued_on=today - timedelta(days=1700),
            expires_on=today + timedelta(days=20),
        )
        CameraFactory(authorization=expiring)
        authorization_record_alert(authorization_id=expiring.pk)
    part = signed_in(supervisor).get("/exploitation/tableau/autorisations/").content.decode()
    assert "2 alertes à prendre en compte" in part
    assert 'href="/cameras/autorisations/alertes/"' in part
    assert "2 alertes" in signed_in(supervisor).get("/exploitation/").content.decode()
    hidden = signed_in(operator).get("/exploitation/tableau/autorisations/").content.decode()
    assert "alerte" not in hidden and "hx-get" not in hidden
