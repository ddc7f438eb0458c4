"""A signalement from a wall tile: the quick entry opens with the camera and the time filled in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db

URL = "/exploitation/signalements/nouveau/"


def test_the_tiles_camera_and_picture_time_are_filled_in(operator, signed_in):
    CameraFactory(code="CAM-007")
    picture = timezone.now() - timedelta(minutes=3)
    response = signed_in(operator).get(
        URL, {"camera": "CAM-007", "at": int(picture.timestamp() * 1000)}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["cameras"] == "CAM-007"
    shown = form.initial["occurred_at"]
    assert shown.tzinfo is not None and str(shown.tzinfo) == "Europe/Paris"
    assert shown == timezone.localtime(picture).replace(second=0, microsecond=0)
    assert 'value="CAM-007"' in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"camera": "CAM-NOPE", "at": "abc"},
        {"camera": "", "at": "99999999999999999999"},
        {"at": str(int(datetime(2001, 1, 1).timestamp() * 1000))},
        {"camera": "<script>", "at": "-1"},
    ],
)
def test_bad_values_from_the_address_are_ignored(operator, signed_in, query):
    response = signed_in(operator).get(URL, query)
    assert response.status_code == 200
    form = response.context["form"]
    assert "cameras" not in form.initial
    assert abs((form.initial["occurred_at"] - timezone.now()).total_seconds()) < 120
