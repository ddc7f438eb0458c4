"""The wall page for every kind of visitor (the WebSocket: test_websocket_permissions.py)."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db


def test_wall_is_for_operators_supervisors_and_the_police_station():
    CameraFactory(code="CAM-001")
    check_matrix(url="/direct/", allowed=[Role.OPERATOR, Role.SUPERVISOR, Role.POLICE_STATION])


def test_wall_lists_only_the_cameras_of_the_persons_live_habilitation(signed_in):
    CameraFactory(code="CAM-001", name="Gare nord", sector="Gare")
    CameraFactory(code="CAM-002", name="Halles", sector="Centre")
    operator = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=operator, sectors=["Gare"], can_live=True)
    HabilitationFactory(user=operator, sectors=["Centre"], can_live=False, can_replay=True)
    page = signed_in(operator).get("/direct/").content.decode()
    assert "Gare nord" in page and "Halles" not in page
    assert '"url": "/direct/ws/CAM-001/"' in page
