"""Storing a segment: the object first, durably, then the index row; never one without the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage

from cameras.models import Camera
from csu.lib.storage import DurableFileSystemStorage
from recordings import store
from recordings.models import Segment

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def camera(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return Camera.objects.create(
        code="CAM-S1", name="Gare", sector="gare", kind="fixe", stream_url="file:///dev/null"
    )


def _clip(seconds: int = 60) -> store.Clip:
    return store.Clip(
        started_at=START,
        ended_at=START + timedelta(seconds=seconds),
        payload=b"\0" * 4096,
        codec="h264",
    )


def _objects(folder: str = "segments") -> list[str]:
    found: list[str] = []
    try:
        dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return found
    found += [f"{folder}/{name}" for name in files]
    for sub in dirs:
        found += _objects(f"{folder}/{sub}")
    return found


def test_a_passing_write_failure_is_retried(camera, monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda s: None)
    real_save = DurableFileSystemStorage.save
    failures = iter([OSError("disk busy"), OSError("disk busy")])

    def flaky_save(self, name, content, **kwargs):
        error = next(failures, None)
        if error:
            raise error
        return real_save(self, name, content, **kwargs)

    monkeypatch.setattr(DurableFileSystemStorage, "save", flaky_save)
    segment = store.segment_store(camera=camera, clip=_clip())
    assert _objects() == [segment.storage_path]
    assert store.segment_read(segment) == b"\0" * 4096


def test_a_lasting_write_failure_leaves_neither_row_nor_object(camera, monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda s: None)

    def broken_save(self, name, content, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(DurableFileSystemStorage, "save", broken_save)
    with pytest.raises(OSError, match="no space"):
        store.segment_store(camera=camera, clip=_clip())
    assert not Segment.objects.exists()
    assert _objects() == []


def test_an_index_failure_removes_the_stored_object(camera):
    with pytest.raises(Exception, match=r"ended_at|fin|after"):
        store.segment_store(camera=camera, clip=_clip(seconds=0))  # ends when it starts
    assert not Segment.objects.exists()
    assert _objects() == []


def test_reconcile_reports_both_kinds_of_disagreement_and_deletes_nothing(camera):
    kept = store.segment_store(camera=camera, clip=_clip())
    lost = store.segment_store(camera=camera, clip=_clip())
    default_storage.delete(lost.storage_path)
    default_storage.save("segments/CAM-S1/2026/11/27/stray.csuseg", __import__("io").BytesIO(b"x"))
    report = store.reconcile()
    assert report.rows_without_objects == [lost.pk]
    assert report.objects_without_rows == ["segments/CAM-S1/2026/11/27/stray.csuseg"]
    assert default_storage.exists(kept.storage_path)
    assert default_storage.exists("segments/CAM-S1/2026/11/27/stray.csuseg")
