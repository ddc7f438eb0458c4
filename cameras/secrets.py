"""Stream credentials sealed with AES-256-GCM: the database alone never reveals them.

Each sealed value is bound to its owner (the associated data names the camera's or the device's
id): a value copied from one row to another's, or from a camera to a device, does not open. The
key is CSU_STREAM_CREDENTIALS_KEY, apart from the master key that wraps the recordings' keys
(rotating that one leaves these alone).
"""

from __future__ import annotations

import base64
import binascii
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "v2:"


class CredentialsUnreadable(Exception):
    pass


def aad(camera_id: int) -> bytes:
    """The associated data of a camera's sealed credentials: purpose and camera id."""
    if not isinstance(camera_id, int) or isinstance(camera_id, bool) or camera_id <= 0:
        raise ValueError("sealed credentials belong to a saved camera (a positive id)")
    return f"csu/cameras/stream-credentials/camera:{camera_id}".encode()


def device_aad(device_id: int) -> bytes:
    """The associated data of a device's sealed credentials, shared by its sensors."""
    if not isinstance(device_id, int) or isinstance(device_id, bool) or device_id <= 0:
        raise ValueError("sealed credentials belong to a saved device (a positive id)")
    return f"csu/cameras/stream-credentials/device:{device_id}".encode()


def _key(key: str | None = None) -> AESGCM:
    return AESGCM(base64.b64decode(key or settings.CSU_STREAM_CREDENTIALS_KEY))


def seal_with(username: str, password: str, *, associated: bytes, key: str | None = None) -> str:
    nonce = os.urandom(12)
    plain = json.dumps({"username": username, "password": password}).encode()
    return PREFIX + base64.b64encode(nonce + _key(key).encrypt(nonce, plain, associated)).decode()


def open_with(sealed: str, *, prefix: str, associated: bytes, key: str | None = None) -> tuple:
    if not sealed.startswith(prefix):
        raise CredentialsUnreadable("unknown format")
    try:
        raw = base64.b64decode(sealed[len(prefix) :], validate=True)
        plain = _key(key).decrypt(raw[:12], raw[12:], associated)
    except (InvalidTag, binascii.Error, ValueError):
        raise CredentialsUnreadable("wrong key, wrong camera or altered value") from None
    data = json.loads(plain)
    return data["username"], data["password"]


def seal(username: str, password: str, *, camera_id: int) -> str:
    """The sealed form of a camera's login and password ("" when both are empty)."""
    if not username and not password:
        return ""
    return seal_with(username, password, associated=aad(camera_id))


def unseal(sealed: str, *, camera_id: int) -> tuple[str, str]:
    """(username, password) sealed for this camera; ("", "") when there is none."""
    if not sealed:
        return "", ""
    return open_with(sealed, prefix=PREFIX, associated=aad(camera_id))


def seal_device(username: str, password: str, *, device_id: int) -> str:
    """The sealed form of a device's login and password ("" when both are empty)."""
    if not username and not password:
        return ""
    return seal_with(username, password, associated=device_aad(device_id))


def unseal_device(sealed: str, *, device_id: int) -> tuple[str, str]:
    """(username, password) sealed for this device; ("", "") when there is none."""
    if not sealed:
        return "", ""
    return open_with(sealed, prefix=PREFIX, associated=device_aad(device_id))
