"""Several live processes: each camera goes to one of them, always the same."""

from __future__ import annotations

import pytest

from live.selectors import live_url
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory

pytestmark = pytest.mark.django_db

PROCESSES = ["wss://csu.example.fr", "wss://csu.example.fr/live2/"]


def test_a_camera_is_assigned_to_one_process_by_its_code(settings):
    assert live_url("CAM-001") == "/direct/ws/CAM-001/"  # one process: the page's own host
    settings.CSU_LIVE_URLS = PROCESSES
    urls = {code: live_url(code) for code in (f"CAM-{n:03d}" for n in range(1, 41))}
    assert urls == {code: live_url(code) for code in urls}  # stable
    used = {url.removesuffix(f"/direct/ws/{code}/") for code, url in urls.items()}
    assert used == {"wss://csu.example.fr", "wss://csu.example.fr/live2"}


def test_the_wall_may_connect_to_every_live_process_and_nowhere_else(settings, operator, signed_in):
    settings.CSU_LIVE_URLS = PROCESSES
    CameraFactory(code="CAM-001")
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    response = signed_in(operator).get("/direct/")
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["connect-src"].split() == ["'self'", "wss://csu.example.fr"]
    assert live_url("CAM-001") in response.content.decode()
