"""Segments in an S3-compatible bucket: encrypted at rest, read back, reconciled with the index.

The S3 API is moto's server (an emulator of the S3 API, from the ``moto[server]`` package in the
dev extras). CI starts one (``.ci/run`` sets CSU_TEST_S3_ENDPOINT_URL); otherwise this module
starts its own on a free port, so the tests run the same on a fresh clone.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from cameras.models import Camera
from csu.lib.storage import s3_options
from recordings.store import Clip, reconcile, segment_read, segment_store
from tests.recordings.media import h264_clip

ACCESS_KEY = "csu-test"
SECRET_KEY = "csu-test-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            pytest.fail(f"the S3 emulator exited with {server.returncode}")
        address = urlsplit(url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=1)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return  # it answers: up
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    pytest.fail(f"no S3 API at {url}")


@pytest.fixture(scope="module")
def s3_endpoint():
    configured = os.environ.get("CSU_TEST_S3_ENDPOINT_URL")
    if configured:
        _wait_until_up(configured, None)
        yield configured
        return
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch):
    """A fresh private bucket, and S3 as the default storage, configured the production way."""
    name = f"csu-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=name)
    for variable, value in {
        "AWS_STORAGE_BUCKET_NAME": name,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(variable, value)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options()},
    }
    assert default_storage.bucket_name == name
    client.bucket = name
    return client


@pytest.fixture
def camera(db):
    return Camera.objects.create(code="CAM-S3", name="Place", sector="centre", kind="fixe")


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> bytes:
    """A real H.264 clip, as the recorder hands segments over (plaintext, in memory)."""
    return h264_clip(
        tmp_path_factory.mktemp("s3") / "clip.mp4", seconds=2, audio=False
    ).read_bytes()


def _clip(payload: bytes, started_at: datetime) -> Clip:
    return Clip(
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=2),
        payload=payload,
        codec="h264",
        width=320,
        height=240,
        frames=24,
    )


def test_segment_is_stored_encrypted_in_the_bucket_and_reads_back(bucket, camera, payload):
    segment = segment_store(camera=camera, clip=_clip(payload, datetime.now(UTC)))

    stored = bucket.get_object(Bucket=bucket.bucket, Key=segment.storage_path)["Body"].read()
    assert len(stored) == segment.size
    assert hashlib.sha256(stored).hexdigest() == segment.sha256
    assert stored.startswith(b"CSUSEG")
    for offset in range(0, len(payload) - 64, 1024):
        assert payload[offset : offset + 64] not in stored, f"plaintext at offset {offset}"
    assert segment_read(segment) == payload


def test_reconcile_compares_the_bucket_with_the_index(bucket, camera, payload):
    start = datetime.now(UTC) - timedelta(minutes=5)
    kept = segment_store(camera=camera, clip=_clip(payload, start))
    lost = segment_store(camera=camera, clip=_clip(payload, start + timedelta(seconds=2)))
    assert reconcile().objects_without_rows == []
    assert reconcile().rows_without_objects == []

    bucket.delete_object(Bucket=bucket.bucket, Key=lost.storage_path)
    orphan = f"segments/{camera.code}/{start:%Y/%m/%d}/000000-orphan.csuseg"
    bucket.put_object(Bucket=bucket.bucket, Key=orphan, Body=b"CSUSEG left by a killed recorder")

    report = reconcile()
    assert report.objects_without_rows == [orphan]
    assert report.rows_without_objects == [lost.pk]
    assert segment_read(kept) == payload


def test_an_object_is_never_overwritten(bucket):
    first = default_storage.save("exports/same-name.bin", ContentFile(b"first"))
    second = default_storage.save("exports/same-name.bin", ContentFile(b"second"))
    assert first == "exports/same-name.bin"
    assert second != first
    with default_storage.open(first, "rb") as handle:
        assert handle.read() == b"first"


def test_s3_settings_name_every_missing_value(monkeypatch):
    for variable in ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ACCESS_KEY_ID", "AWS_S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(f"{variable}_FILE", raising=False)
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "csu")
    with pytest.raises(ImproperlyConfigured) as error:
        s3_options()
    assert "AWS_S3_ACCESS_KEY_ID" in str(error.value)
    assert "AWS_S3_SECRET_ACCESS_KEY" in str(error.value)
    assert "AWS_STORAGE_BUCKET_NAME" not in str(error.value)


def test_s3_credentials_come_from_files(monkeypatch, tmp_path):
    (tmp_path / "access").write_text("from-a-file\n")
    (tmp_path / "secret").write_text("secret-from-a-file\n")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "csu")
    monkeypatch.setenv("AWS_S3_ACCESS_KEY_ID_FILE", str(tmp_path / "access"))
    monkeypatch.setenv("AWS_S3_SECRET_ACCESS_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "http://objectstore:9000")
    options = s3_options()
    assert options["access_key"] == "from-a-file"
    assert options["secret_key"] == "secret-from-a-file"
    assert options["addressing_style"] == "path"
    assert options["file_overwrite"] is False
