"""Hashing and signing of the audit chain (no database access here)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

GENESIS = "0" * 64

#: The fields covered by an event's hash, in this order. Changing this list breaks every chain.
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "reason",
    "recipient",
    "details",
)


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the event's fields."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["occurred_at"] = _canonical_time(payload["occurred_at"])
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body.encode("utf-8")).hexdigest()


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    return f"csu-audit-checkpoint\n{seq}\n{head_hash}\n{_canonical_time(signed_at)}".encode()


def load_private_key(raw: str) -> Ed25519PrivateKey:
    """The signing key from configuration: base64 of 32 raw bytes, or a PEM (PKCS#8) block."""
    text = raw.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ImproperlyConfigured("CSU_AUDIT_SIGNING_KEY is not an Ed25519 key")
            return key
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError):
        # Never echo the value: it is a secret.
        raise ImproperlyConfigured(
            "CSU_AUDIT_SIGNING_KEY must be an Ed25519 key (base64 of 32 bytes, or PEM)"
        ) from None


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def prune_message(
    horizon_seq: int, head_hash: str, kept_count: int, kept_digest: str, pruned_at: datetime
) -> bytes:
    return (
        f"csu-audit-prune\n{horizon_seq}\n{head_hash}\n{kept_count}\n{kept_digest}\n"
        f"{_canonical_time(pruned_at)}"
    ).encode()


def kept_line(seq: int, event_hash_: str) -> bytes:
    """One line of the digest of events kept below a pruning horizon."""
    return f"{seq}:{event_hash_}\n".encode("ascii")


_PEM_PUBLIC = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.S)


def load_public_key(text: str) -> Ed25519PublicKey:
    """One Ed25519 public key: hex or base64 of the 32 raw bytes, or a PEM block."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raw = bytes.fromhex(text)
    else:
        raw = base64.b64decode(text, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def load_public_keys(raw: str) -> list[Ed25519PublicKey]:
    """Public keys of previous signing keys: PEM blocks, hex or base64 items, comma-separated.

    Raises ImproperlyConfigured naming the variable (and the item's position, not its value).
    """
    items = _PEM_PUBLIC.findall(raw)
    rest = _PEM_PUBLIC.sub(",", raw)
    items += [item for item in re.split(r"[,\s]+", rest) if item]
    keys = []
    for position, item in enumerate(items, start=1):
        try:
            keys.append(load_public_key(item))
        except (ValueError, TypeError, binascii.Error):
            raise ImproperlyConfigured(
                f"CSU_AUDIT_PREVIOUS_PUBLIC_KEYS: item {position} is not an Ed25519 public key "
                "(hex or base64 of 32 bytes, or PEM)"
            ) from None
    return keys


def public_key_hex(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def anchor_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    """What an anchor written outside the database signs (distinct from a checkpoint)."""
    return f"csu-audit-anchor\n{seq}\n{head_hash}\n{_canonical_time(signed_at)}".encode()


#: What a verification's signed result covers, in the details of its audit.chain_* event.
VERIFICATION_FIELDS = (
    "verification_id",
    "finished_at",
    "events_checked",
    "ok",
    "first_broken_seq",
    "problems",
    "anchor",
)


def verification_time(value: datetime) -> str:
    return _canonical_time(value)


def verification_message(details: dict[str, Any]) -> bytes:
    """What a full verification signs: its outcome, as stored in its event's details."""
    body = {name: details.get(name) for name in VERIFICATION_FIELDS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"csu-audit-verification\n" + text.encode("utf-8")
