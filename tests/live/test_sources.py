"""Which stream live reads: the camera's sub-stream when it has one, else the main stream."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cameras import secrets
from live.pipeline import load_source
from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db


def test_live_reads_the_sub_stream_with_the_devices_login():
    camera = CameraFactory(stream_url="rtsp://10.0.0.5/main", live_stream_url="rtsp://10.0.0.5/sub")
    # Sealed for this camera: the ciphertext is bound to its id.
    camera.stream_credentials = secrets.seal("viewer", "s3cret!", camera_id=camera.pk)
    camera.save(update_fields=["stream_credentials"])
    source = load_source(camera.pk)
    assert (source.url, source.username, source.password) == (
        "rtsp://10.0.0.5/sub",
        "viewer",
        "s3cret!",
    )


def test_without_a_sub_stream_live_reads_the_main_stream():
    camera = CameraFactory(stream_url="rtsp://10.0.0.5/main")
    assert load_source(camera.pk).url == "rtsp://10.0.0.5/main"


@pytest.mark.parametrize("url", ["rtsp://user:pw@10.0.0.5/sub", "ftp://10.0.0.5/sub", "rtsp:// x"])
def test_a_sub_stream_address_is_checked_like_the_main_one(url):
    camera = CameraFactory.build(stream_url="rtsp://10.0.0.5/main", live_stream_url=url)
    with pytest.raises(ValidationError) as error:
        camera.full_clean(exclude=["authorization"])
    assert "live_stream_url" in error.value.message_dict
