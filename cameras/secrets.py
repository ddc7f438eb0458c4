"""Stream credentials sealed with AES-256-GCM: the database alone never reveals them."""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_PREFIX = "v1:"
# Binds each sealed value to its purpose: a value copied from another column will not open.
_AAD = b"csu/cameras/stream-credentials"


class CredentialsUnreadable(Exception):
    pass


def _key() -> AESGCM:
    return AESGCM(base64.b64decode(settings.CSU_STREAM_CREDENTIALS_KEY))


def seal(username: str, password: str) -> str:
    """The sealed form of a login and password ("" when both are empty)."""
    if not username and not password:
        return ""
    nonce = os.urandom(12)
    plain = json.dumps({"username": username, "password": password}).encode()
    return _PREFIX + base64.b64encode(nonce + _key().encrypt(nonce, plain, _AAD)).decode()


def unseal(sealed: str) -> tuple[str, str]:
    """(username, password) from a sealed value; ("", "") when there is none."""
    if not sealed:
        return "", ""
    if not sealed.startswith(_PREFIX):
        raise CredentialsUnreadable("unknown format")
    raw = base64.b64decode(sealed[len(_PREFIX) :])
    try:
        plain = _key().decrypt(raw[:12], raw[12:], _AAD)
    except InvalidTag:
        raise CredentialsUnreadable("wrong key or altered value") from None
    data = json.loads(plain)
    return data["username"], data["password"]
