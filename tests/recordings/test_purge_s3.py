"""The retention purge on an S3 store: objects go by batched DeleteObjects, after the commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from csu.lib.storage import s3_options
from recordings import keys, keystore, purge, store
from recordings.models import DataKey, DestructionRecord, Segment
from tests.recordings.retention import assert_consistent, make_camera, payload, record_segments
from tests.test_s3_storage import bucket, s3_endpoint  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _keys(client, prefix=""):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=client.bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def delete_calls(bucket, monkeypatch):  # noqa: F811
    """Counts DeleteObjects requests; a per-object delete through the storage API fails."""
    calls = []
    real = purge._s3_client

    class Counting:  # the worker threads' own clients (django-storages keeps one per thread)
        def __init__(self, client):
            self.client = client

        def delete_objects(self, **kwargs):
            calls.append(len(kwargs["Delete"]["Objects"]))
            return self.client.delete_objects(**kwargs)

    def counting(storage):
        client = real(storage)
        return Counting(client) if client is not None else None

    storage_class = type(default_storage._wrapped)
    real_delete = storage_class.delete

    def one_by_one(storage, name):
        if storage.location.rsplit("/", 1)[-1] == keystore.S3_PREFIX:
            return real_delete(storage, name)  # a destroyed KEK: one object, once a day
        raise AssertionError(f"per-object delete of {name}")

    monkeypatch.setattr(purge, "_s3_client", counting)
    monkeypatch.setattr(storage_class, "delete", one_by_one)
    return calls


def test_the_purge_deletes_expired_objects_from_the_bucket_in_batches(
    bucket,  # noqa: F811
    delete_calls,
    monkeypatch,
):
    monkeypatch.setattr(purge, "S3_DELETE_KEYS", 2)  # several requests per chunk
    now = timezone.now()
    camera = make_camera("CAM-S3P", retention_days=15)
    old = record_segments(camera, now - timedelta(days=16), 5)
    kept = record_segments(camera, now - timedelta(days=1), 2)

    result = purge.purge_run(now=now, batch_size=3)

    assert result.state == "done" and result.segments == 5 and result.keks == 1
    assert _keys(bucket, "segments/") == sorted(s.storage_path for s in kept)
    # The key store is the bucket's keystore/ prefix: the spent KEK is gone, the live one kept.
    live = DataKey.objects.select_related("kek").get(pk=kept[0].key_id).kek
    master = keys.master_keys()[0].fingerprint.hex()
    assert _keys(bucket, "keystore/") == [f"keystore/{live.name}/{master}.key"]
    assert store.segment_read(kept[0]) == payload(camera, kept[0].started_at)
    assert sorted(delete_calls) == [1, 2, 2]  # batches of 3 and 2, two keys a request
    assert all(e.objects_deleted_at for e in DestructionRecord.objects.filter(segment_count__gt=0))
    assert set(Segment.objects.filter(state="destroyed").values_list("pk", flat=True)) == {
        s.pk for s in old
    }
    assert_consistent(now)


def test_leftovers_of_a_killed_run_are_deleted_under_the_bucket_prefix(
    bucket,  # noqa: F811
    delete_calls,
    monkeypatch,
    settings,
):
    monkeypatch.setenv("AWS_LOCATION", "site-a")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options()},
    }
    now = timezone.now()
    camera = make_camera("CAM-S3L", retention_days=15)
    record_segments(camera, now - timedelta(days=16), 3)
    kept = record_segments(camera, now - timedelta(days=1), 1)
    assert len(_keys(bucket, "site-a/segments/")) == 4

    # Committed, then killed before any object went: the next run finds them from the index.
    pending = purge._cameras(now)
    entries = purge._destroy_batch(purge._start(now, "k", others_dead=True), pending, now, 10, "t")
    assert entries and entries[0].objects_deleted_at is None
    purge.PurgeRun.objects.filter(state="running").update(state="interrupted")
    delete_calls.clear()

    result = purge.purge_run(now=now)

    assert result.state == "done" and result.segments == 0
    assert _keys(bucket, "site-a/segments/") == [f"site-a/{kept[0].storage_path}"]
    assert _keys(bucket, "keystore/") == []  # the key store follows the prefix too
    assert len(_keys(bucket, "site-a/keystore/")) == 1
    assert delete_calls == [3]
    assert DestructionRecord.objects.get(segment_count=3).objects_deleted_at is not None
    assert_consistent(now)
