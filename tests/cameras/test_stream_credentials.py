"""Sealed stream credentials: bound to their camera, apart from the master key's rotation."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import call_command

from cameras import secrets, services
from cameras.models import CameraStatus
from recordings import crypto, keys
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _camera():
    return services.camera_create(
        code="CAM-KEY",
        name="Caméra",
        sector="Gare",
        kind="dome",
        stream_url="rtsp://127.0.0.1:8554/cam",
        stream_username="admin",
        stream_password="Passe-Secrete",
        status=CameraStatus.MAINTENANCE,
        actor=UserFactory(role="supervisor"),
    )


def test_credentials_are_sealed_for_a_saved_camera_only():
    with pytest.raises(ValueError):
        secrets.seal("admin", "Passe-Secrete", camera_id=0)
    assert secrets.seal("", "", camera_id=1) == ""
    assert secrets.unseal("", camera_id=1) == ("", "")


@pytest.mark.parametrize("altered", ["v2:not-base64!", "v2:" + "A" * 40, "v9:abc", "clair"])
def test_altered_or_unknown_values_are_unreadable_not_a_crash(altered):
    with pytest.raises(secrets.CredentialsUnreadable):
        secrets.unseal(altered, camera_id=1)


def test_master_key_rotation_leaves_stream_credentials_readable(settings):
    old = base64.b64encode(crypto.MasterKey.generate().key).decode()
    new = base64.b64encode(crypto.MasterKey.generate().key).decode()
    settings.RECORDINGS_MASTER_KEY = old
    camera = _camera()
    keys.day_key(camera, camera.created_at.date())

    settings.RECORDINGS_MASTER_KEY = new
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = old
    out = StringIO()
    call_command("rotate_master_key", stdout=out)

    assert "1 keys re-wrapped" in out.getvalue()
    camera.refresh_from_db()
    assert services.stream_login(camera) == ("admin", "Passe-Secrete")
