"""Re-seal every camera's stream credentials with associated data naming the camera (v1 -> v2).

A v1 value was bound only to its purpose: copied to another camera's row, it opened there too.
A value that does not open with the configured key stops the migration (nothing is lost or
half-converted: it runs in one transaction); the message names the camera, never a secret.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import migrations

V1, V1_AAD = "v1:", b"csu/cameras/stream-credentials"
V2 = "v2:"


def _aad(camera_id):
    return f"csu/cameras/stream-credentials/camera:{camera_id}".encode()


def _convert(apps, old_prefix, old_aad, new_prefix, new_aad):
    key = AESGCM(base64.b64decode(settings.CSU_STREAM_CREDENTIALS_KEY))
    Camera = apps.get_model("cameras", "Camera")
    for camera in Camera.objects.exclude(stream_credentials="").only(
        "pk", "code", "stream_credentials"
    ):
        sealed = camera.stream_credentials
        if not sealed.startswith(old_prefix):
            continue
        raw = base64.b64decode(sealed[len(old_prefix) :])
        try:
            plain = key.decrypt(raw[:12], raw[12:], old_aad(camera.pk))
        except InvalidTag:
            raise RuntimeError(
                f"camera {camera.code}: stream credentials do not open with "
                "CSU_STREAM_CREDENTIALS_KEY (wrong key?); nothing was changed"
            ) from None
        nonce = os.urandom(12)
        resealed = (
            new_prefix
            + base64.b64encode(nonce + key.encrypt(nonce, plain, new_aad(camera.pk))).decode()
        )
        Camera.objects.filter(pk=camera.pk).update(stream_credentials=resealed)


def bind(apps, schema_editor):
    _convert(apps, V1, lambda pk: V1_AAD, V2, _aad)


def unbind(apps, schema_editor):
    _convert(apps, V2, _aad, V1, lambda pk: V1_AAD)


class Migration(migrations.Migration):
    dependencies = [("cameras", "0001_initial")]

    operations = [migrations.RunPython(bind, unbind)]
