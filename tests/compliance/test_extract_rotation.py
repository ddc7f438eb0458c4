"""Rotating the master key re-wraps the keys of prepared extracts, and skips destroyed ones."""

from __future__ import annotations

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from compliance import extract, services
from compliance.models import AccessRequestCamera, RefusalReason
from recordings import crypto, keys
from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db

CLEAR = b"\x00\x00\x00\x18ftypisom extract of the requester" * 100


def _key() -> str:
    return base64.b64encode(crypto.MasterKey.generate().key).decode()


def _request(camera, dpo):
    start = timezone.now() - timedelta(hours=2)
    return services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X1234",
        description="Manteau rouge.",
        place="Place Saint-Léger",
        starts_at=start,
        ends_at=start + timedelta(minutes=5),
        cameras=[camera],
        actor=dpo,
    )


def _prepare(request) -> AccessRequestCamera:
    """An extract written and wrapped as the builder does (the video itself is not needed)."""
    row = request.footage.select_related("camera", "request").get()
    key_id = f"access-request/{request.pk}/{row.camera.code}"
    data_key = crypto.new_data_key()
    name = f"{request.pk}-{row.pk}.csuseg"
    with (
        open(extract.extract_folder() / name, "wb") as handle,
        crypto.EncryptingWriter(handle, data_key, key_id) as encrypted,
    ):
        encrypted.write(CLEAR)
    AccessRequestCamera.objects.filter(pk=row.pk).update(
        extract_path=name,
        extract_key_id=key_id,
        extract_key=keys.master_keys()[0].wrap(key_id, data_key),
        extract_sha256="cd" * 32,
        extract_built_at=timezone.now(),
    )
    row.refresh_from_db()
    return row


def test_a_prepared_extract_opens_with_the_new_master_key_alone(settings, dpo):
    old, new = _key(), _key()
    settings.RECORDINGS_MASTER_KEY, settings.RECORDINGS_PREVIOUS_MASTER_KEY = old, ""
    request = _request(CameraFactory(code="CAM-ROT1"), dpo)
    row = _prepare(request)
    wrapped = bytes(row.extract_key)

    settings.RECORDINGS_MASTER_KEY, settings.RECORDINGS_PREVIOUS_MASTER_KEY = new, old
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "1 keys re-wrapped" in out.getvalue()

    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""  # the old key is gone
    row.refresh_from_db()
    assert bytes(row.extract_key) != wrapped
    assert b"".join(extract.extract_stream(row)) == CLEAR


def test_a_destroyed_extract_has_no_key_left_to_rotate(settings, dpo):
    old, new = _key(), _key()
    settings.RECORDINGS_MASTER_KEY, settings.RECORDINGS_PREVIOUS_MASTER_KEY = old, ""
    request = _request(CameraFactory(code="CAM-ROT2"), dpo)
    _prepare(request)
    services.access_request_refuse(request=request, reason=RefusalReason.THIRD_PARTIES, actor=dpo)

    settings.RECORDINGS_MASTER_KEY, settings.RECORDINGS_PREVIOUS_MASTER_KEY = new, old
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "0 keys re-wrapped" in out.getvalue()
    row = AccessRequestCamera.objects.get(request=request)
    assert row.extract_key is None and row.extract_destroyed_at is not None
