"""The signed chain head written outside the database, and the keys verify_audit accepts."""

from __future__ import annotations

import json
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit import anchor, chain, integrity
from audit.models import ChainCheckpoint
from audit.services import record
from tests.test_s3_storage import ACCESS_KEY, SECRET_KEY, s3_endpoint  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _events(user, count=3):
    return [record("auth.login", actor=user) for _ in range(count)]


# --- the folder of the embedded default -------------------------------------------------------


def test_anchor_is_a_read_only_file_never_rewritten(operator, settings):
    _events(operator)
    head, location = anchor.write_anchor()
    path = settings.AUDIT_ANCHOR_DIR / head.name
    assert location == str(path) and head.seq == 3
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with pytest.raises(anchor.AnchorError, match="never rewritten"):
        anchor.FolderAnchors(settings.AUDIT_ANCHOR_DIR).write(head.name, b"{}")
    assert anchor.Anchor.from_json(path.read_bytes(), location) == head


def test_newest_anchor_is_the_last_of_the_last_day(operator, settings, monkeypatch):
    _events(operator, 1)
    real_now = timezone.now
    for moment in ("2026-11-29T23:59:00", "2026-11-30T00:01:00", "2026-11-30T08:00:00"):
        at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda at=at: at)
        record("auth.login", actor=operator)
        written, _ = anchor.write_anchor()
    monkeypatch.setattr(timezone, "now", real_now)
    newest, _ = anchor.newest_anchor()
    assert newest == written and newest.seq == 4


def test_events_after_the_anchor_verify(operator):
    _events(operator)
    call_command("anchor_audit_head")
    _events(operator, 2)
    result = integrity.verify_chain()
    assert result.ok, result.problems
    assert result.anchor.startswith("#3 ")


def test_anchor_edited_in_its_folder_is_named(operator, settings):
    _events(operator)
    head, _ = anchor.write_anchor()
    path = settings.AUDIT_ANCHOR_DIR / head.name
    body = json.loads(path.read_bytes())
    body["seq"] = 2  # whoever can write there claims a shorter chain
    path.chmod(0o644)
    path.write_text(json.dumps(body))
    result = integrity.verify_chain()
    assert not result.ok and "has an invalid signature" in result.problems[0]


def test_unreadable_anchor_is_a_problem_not_a_crash(operator, settings):
    _events(operator)
    day = settings.AUDIT_ANCHOR_DIR / "2026-11-30"
    day.mkdir(parents=True)
    (day / "000000000000Z-000000000001.json").write_text("pas du JSON")
    result = integrity.verify_chain()
    assert not result.ok and "not a CSU audit anchor" in result.problems[0]


def test_empty_chain_writes_no_anchor(db):
    assert anchor.write_anchor() is None
    assert integrity.verify_chain().ok


def test_beat_anchors_the_head_every_few_minutes_with_an_expiry(settings):
    from csu.celery import app

    entry = app.conf.beat_schedule["audit-anchor-chain-head"]
    assert entry["task"] == "audit.tasks.anchor_chain_head"
    assert entry["schedule"] == timedelta(minutes=settings.AUDIT_ANCHOR_MINUTES)
    assert 0 < entry["options"]["expires"] < entry["schedule"].total_seconds()


# --- an S3 bucket with Object Lock (production) ---------------------------------------------------


@pytest.fixture
def locked_bucket(s3_endpoint, settings, monkeypatch):  # noqa: F811
    name = f"csu-audit-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    for variable, value in {
        "AWS_STORAGE_BUCKET_NAME": "csu",
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(variable, value)
    settings.AUDIT_ANCHOR_STORAGE = "s3"
    settings.AUDIT_ANCHOR_BUCKET = name
    settings.AUDIT_ANCHOR_RETENTION_DAYS = 30
    client.bucket = name
    return client


def test_anchor_in_s3_is_locked_and_cannot_be_deleted(locked_bucket, operator):
    _events(operator)
    head, location = anchor.write_anchor()
    key = anchor.S3_PREFIX + head.name
    assert location == f"s3://{locked_bucket.bucket}/{key}"
    stored = locked_bucket.head_object(Bucket=locked_bucket.bucket, Key=key)
    assert stored["ObjectLockMode"] == "COMPLIANCE"
    assert stored["ObjectLockRetainUntilDate"] > timezone.now() + timedelta(days=29)
    with pytest.raises(ClientError):
        locked_bucket.delete_object(
            Bucket=locked_bucket.bucket, Key=key, VersionId=stored["VersionId"]
        )
    assert anchor.newest_anchor() == (head, location)


def test_truncation_is_named_against_the_anchor_in_s3(locked_bucket, operator):
    _events(operator, 4)
    anchor.write_anchor()
    from tests.append_only import suspended

    with suspended():
        from audit.models import AuditEvent

        AuditEvent.objects.filter(seq__gt=2).delete()
    result = integrity.verify_chain()
    assert not result.ok
    assert f"s3://{locked_bucket.bucket}/{anchor.S3_PREFIX}" in result.problems[0]
    assert "the chain now ends at #2" in result.problems[0]


def test_unreachable_bucket_is_a_problem_not_a_crash(locked_bucket, operator, settings):
    _events(operator)
    settings.AUDIT_ANCHOR_BUCKET = "csu-audit-absent"
    result = integrity.verify_chain()
    assert not result.ok and "cannot be read" in result.problems[0]
    assert SECRET_KEY not in result.problems[0]


# --- pinned keys ------------------------------------------------------------------------------


def _checkpoint_signed_with(key: Ed25519PrivateKey, seq: int, head_hash: str) -> ChainCheckpoint:
    signed_at = timezone.now()
    return ChainCheckpoint.objects.create(
        seq=seq,
        head_hash=head_hash,
        signed_at=signed_at,
        signature=key.sign(chain.checkpoint_message(seq, head_hash, signed_at)).hex(),
        key_fingerprint=chain.public_key_fingerprint(key.public_key()),
    )


@pytest.mark.parametrize("form", ["hex", "pem"])
def test_checkpoint_of_a_previous_key_verifies_once_its_public_key_is_pinned(
    operator, settings, form
):
    events = _events(operator)
    previous = Ed25519PrivateKey.generate()
    _checkpoint_signed_with(previous, events[-1].seq, events[-1].hash)
    assert "unknown key" in integrity.verify_chain().problems[0]
    public = previous.public_key()
    settings.AUDIT_PREVIOUS_PUBLIC_KEYS = (
        chain.public_key_hex(public)
        if form == "hex"
        else public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    )
    result = integrity.verify_chain()
    assert result.ok, result.problems


def test_previous_public_keys_accept_a_list_and_refuse_a_wrong_item():
    first, second = (Ed25519PrivateKey.generate().public_key() for _ in range(2))
    raw = f"{chain.public_key_hex(first)}, {chain.public_key_hex(second)}"
    keys = chain.load_public_keys(raw)
    assert [chain.public_key_hex(k) for k in keys] == [
        chain.public_key_hex(first),
        chain.public_key_hex(second),
    ]
    with pytest.raises(ImproperlyConfigured, match="CSU_AUDIT_PREVIOUS_PUBLIC_KEYS: item 2"):
        chain.load_public_keys(f"{chain.public_key_hex(first)},pas-une-clé")


def test_setup_database_roles_needs_the_application_url(settings):
    settings.APP_DATABASE_URL = ""
    with pytest.raises(CommandError, match="CSU_APP_DATABASE_URL is not set"):
        call_command("setup_database_roles")


def test_sign_audit_head_prints_the_public_key_to_pin(settings, capsys):
    call_command("sign_audit_head", "--public-key")
    printed = capsys.readouterr().out.strip()
    key = chain.load_private_key(settings.AUDIT_SIGNING_KEY).public_key()
    assert printed == chain.public_key_hex(key)
    assert settings.AUDIT_SIGNING_KEY not in printed
