"""The signed chain head, written every few minutes to an append-only place apart from the database.

A checkpoint lives in the database: whoever can delete the newest events can delete the newest
checkpoints too. An anchor is the same statement (seq and hash of the head, signed with the
audit key) written where the database's users cannot rewrite it: a folder of the data directory
(files created exclusively, never overwritten) or an S3 bucket with Object Lock (each object
locked in COMPLIANCE mode). ``verify_chain`` compares the database with the newest anchor, so a
chain that ends before it, or differs from it, is named.

Names sort by time: ``<prefix>YYYY-MM-DD/HHMMSSffffffZ-<seq>.json``, so the newest anchor is the
last name of the last day, found without reading the others. Their numbers never go backwards:
``verify_chain`` lists every anchor and names the first whose number is below the one before it
(someone holding the database and the signing key, having cut the chain, cannot hide the cut
behind a newer anchor of a shorter chain); the newest must hold what its name says.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit import chain
from audit.models import AuditEvent
from csu.lib.storage import s3_options

S3_PREFIX = "audit-anchors/"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: An anchor's name under the store's root: its day, its time, then the event number it holds.
NAME = re.compile(r"^\d{4}-\d{2}-\d{2}/\d{12}Z-(\d{12})\.json$")


class AnchorError(Exception):
    """An anchor cannot be written, read or understood."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    head_hash: str
    signed_at: datetime
    key_fingerprint: str
    signature: str

    @property
    def name(self) -> str:
        moment = self.signed_at.astimezone(UTC)
        return f"{moment:%Y-%m-%d}/{moment:%H%M%S%f}Z-{self.seq:012d}.json"

    def message(self) -> bytes:
        return chain.anchor_message(self.seq, self.head_hash, self.signed_at)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": "csu-audit-anchor/1",
                "seq": self.seq,
                "head_hash": self.head_hash,
                "signed_at": self.signed_at.astimezone(UTC).isoformat(),
                "key_fingerprint": self.key_fingerprint,
                "signature": self.signature,
            },
            indent=2,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Anchor:
        try:
            body = json.loads(data)
            signed_at = parse_datetime(body["signed_at"])
            if body.get("format") != "csu-audit-anchor/1" or signed_at is None:
                raise ValueError
            return cls(
                seq=int(body["seq"]),
                head_hash=str(body["head_hash"]),
                signed_at=signed_at,
                key_fingerprint=str(body["key_fingerprint"]),
                signature=str(body["signature"]),
            )
        except (ValueError, KeyError, TypeError):
            raise AnchorError(f"anchor {where} is not a CSU audit anchor") from None


class AnchorStore(Protocol):
    def write(self, name: str, data: bytes) -> str: ...

    def newest(self) -> tuple[str, bytes] | None: ...

    def names(self) -> list[tuple[str, str]]: ...


class FolderAnchors:
    """Anchors as files of a folder: created exclusively (never overwritten), then fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            raise AnchorError(
                f"anchor {path} exists already: anchors are never rewritten"
            ) from None
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return str(path)

    def newest(self) -> tuple[str, bytes] | None:
        if not self.root.is_dir():
            return None
        days = sorted(p for p in self.root.iterdir() if p.is_dir() and _DAY.match(p.name))
        for day in reversed(days):
            files = sorted(day.glob("*.json"))
            if files:
                return str(files[-1]), files[-1].read_bytes()
        return None

    def names(self) -> list[tuple[str, str]]:
        """Every anchor as (location, name under the root), oldest first."""
        if not self.root.is_dir():
            return []
        days = sorted(p for p in self.root.iterdir() if p.is_dir() and _DAY.match(p.name))
        return [
            (str(path), f"{day.name}/{path.name}")
            for day in days
            for path in sorted(day.glob("*.json"))
        ]


class BucketAnchors:
    """Anchors as objects of an S3 bucket with Object Lock, each locked in COMPLIANCE mode."""

    def __init__(self, client, bucket: str, prefix: str, retention_days: int) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retention_days = retention_days

    def write(self, name: str, data: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.prefix + name
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType="application/json",
                IfNoneMatch="*",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=timezone.now() + timedelta(days=self.retention_days),
            )
        except (BotoCoreError, ClientError) as exc:
            raise AnchorError(f"anchor s3://{self.bucket}/{key} not written: {exc}") from None
        return f"s3://{self.bucket}/{key}"

    def _names(self, prefix: str, *, folders: bool) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        names: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            if folders:
                names += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
            else:
                names += [entry["Key"] for entry in page.get("Contents", [])]
        return sorted(names)

    def newest(self) -> tuple[str, bytes] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            days = [
                day
                for day in self._names(self.prefix, folders=True)
                if _DAY.match(day[len(self.prefix) :].rstrip("/"))
            ]
            for day in reversed(days):
                keys = [key for key in self._names(day, folders=False) if key.endswith(".json")]
                if keys:
                    body = self.client.get_object(Bucket=self.bucket, Key=keys[-1])["Body"].read()
                    return f"s3://{self.bucket}/{keys[-1]}", body
        except (BotoCoreError, ClientError) as exc:
            raise AnchorError(f"anchors in s3://{self.bucket} cannot be read: {exc}") from None
        return None

    def names(self) -> list[tuple[str, str]]:
        """Every anchor as (location, name under the prefix), oldest first (listing only)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            days = [
                day
                for day in self._names(self.prefix, folders=True)
                if _DAY.match(day[len(self.prefix) :].rstrip("/"))
            ]
            keys = [
                key
                for day in days
                for key in self._names(day, folders=False)
                if key.endswith(".json")
            ]
        except (BotoCoreError, ClientError) as exc:
            raise AnchorError(f"anchors in s3://{self.bucket} cannot be listed: {exc}") from None
        return [(f"s3://{self.bucket}/{key}", key[len(self.prefix) :]) for key in keys]


def store() -> AnchorStore:
    """Where anchors go, from the settings (CSU_AUDIT_ANCHOR_STORAGE)."""
    if settings.AUDIT_ANCHOR_STORAGE == "s3":
        import boto3

        options = s3_options()
        client = boto3.client(
            "s3",
            endpoint_url=options["endpoint_url"],
            region_name=options["region_name"],
            aws_access_key_id=options["access_key"],
            aws_secret_access_key=options["secret_key"],
        )
        return BucketAnchors(
            client, settings.AUDIT_ANCHOR_BUCKET, S3_PREFIX, settings.AUDIT_ANCHOR_RETENTION_DAYS
        )
    return FolderAnchors(settings.AUDIT_ANCHOR_DIR)


def write_anchor(*, where: AnchorStore | None = None) -> tuple[Anchor, str] | None:
    """Sign the current head and write it outside the database; None while the chain is empty."""
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    if head is None:
        return None
    key = chain.load_private_key(settings.AUDIT_SIGNING_KEY)
    signed_at = timezone.now()
    anchor = Anchor(
        seq=head["seq"],
        head_hash=head["hash"],
        signed_at=signed_at,
        key_fingerprint=chain.public_key_fingerprint(key.public_key()),
        signature=key.sign(chain.anchor_message(head["seq"], head["hash"], signed_at)).hex(),
    )
    location = (where or store()).write(anchor.name, anchor.to_json())
    return anchor, location


def newest_anchor(*, where: AnchorStore | None = None) -> tuple[Anchor, str] | None:
    """The newest anchor and where it is, or None when none was written yet."""
    found = (where or store()).newest()
    if found is None:
        return None
    location, data = found
    return Anchor.from_json(data, location), location


def anchor_names(*, where: AnchorStore | None = None) -> list[tuple[str, str]]:
    """Every anchor written, as (location, name), oldest first."""
    return (where or store()).names()
