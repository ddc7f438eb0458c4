"""A sensor without a login of its own is recorded with its device's, against a real camera."""

from __future__ import annotations

import pytest

from cameras import services
from recordings.models import Segment
from tests.cameras.factories import AuthorizationFactory
from tests.factories import UserFactory
from tests.security.test_camera_sources import LOGIN, PASSWORD, _record, digest_camera

__all__ = ["digest_camera"]  # the fixture, imported for the test below


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sensor_records_with_its_devices_sealed_login(digest_camera, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    actor = UserFactory(role="supervisor")
    device = services.device_create(
        authorization=AuthorizationFactory(),
        code="EQ-PWD",
        name="Tête à mot de passe",
        host="127.0.0.1",
        stream_username=LOGIN,
        stream_password=PASSWORD,
        actor=actor,
    )
    camera = services.camera_create(
        code="CAM-S-PWD",
        name="Capteur à mot de passe",
        sector="Gare",
        kind="multisensor",
        stream_url=digest_camera.url,
        device=device,
        actor=actor,
    )
    assert not camera.has_credentials

    outcome = _record(camera, 5.0)

    assert outcome == "stopped", outcome
    assert Segment.objects.filter(camera=camera).count() >= 2
