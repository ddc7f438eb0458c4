"""The DPO's register of live viewing sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.registers import REGISTERS, as_csv
from live import services
from live.models import EndReason, ViewingSession
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory

pytestmark = pytest.mark.django_db


def test_register_lists_sessions_with_person_camera_times_and_station(operator, dpo, signed_in):
    camera = CameraFactory(code="CAM-R01", name="Parvis")
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    session = services.live_session_open(
        camera=camera, actor=operator, station_ip="10.1.2.3", station_agent="Chromium"
    )
    services.live_session_close(session=session, reason=EndReason.CLOSED)
    register = REGISTERS["sessions-direct"]
    [row] = register.rows(None, None)
    assert row[2] == operator.get_username() and row[4] == "CAM-R01" and row[6] == "10.1.2.3"
    assert row[0] and row[1] and row[7] == str(EndReason.CLOSED.label)
    assert b"CAM-R01" in as_csv(register, [row])


def test_a_session_whose_process_died_ends_at_its_last_renewal(operator):
    camera = CameraFactory(code="CAM-R02")
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    session = services.live_session_open(camera=camera, actor=operator, station_ip=None)
    last = timezone.now() - timedelta(minutes=5)
    ViewingSession.objects.filter(pk=session.pk).update(
        started_at=last - timedelta(minutes=20), last_seen_at=last
    )
    assert services.live_sessions_close_lost() == 1
    session.refresh_from_db()
    assert session.ended_at == last and session.end_reason == EndReason.LOST
    # Closing is conditional: a second pass (or a late close) writes nothing more.
    assert not services.live_session_close(session=session, reason=EndReason.CLOSED)
