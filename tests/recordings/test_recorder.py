"""The recorder end to end on a real file:// stream: encrypted segments, index, lease."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from audit.models import AuditEvent
from cameras.models import Camera
from recordings import crypto, keys, leases, remux, store
from recordings.models import RecorderLease, Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import AuthorizationFactory
from tests.recordings.media import h264_clip, probe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def file_camera(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    clip = h264_clip(tmp_path / "source.mp4", seconds=2, gop=6, audio=True)
    return Camera.objects.create(
        code="CAM-T1",
        name="Place test",
        sector="centre",
        kind="fixe",
        stream_url=f"file://{clip}",
        authorization=AuthorizationFactory(),
    )


def _record(camera: Camera, seconds: float, holder: str = "test-recorder") -> str:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return run_recorder(
            camera.pk,
            holder,
            stop=stop,
            remux_settings=remux.RemuxSettings(segment_seconds=1.0),
            renew_every=0.5,
        )
    finally:
        timer.cancel()


def test_recorder_writes_back_to_back_encrypted_segments_without_audio(file_camera):
    _record(file_camera, 4.5)
    segments = list(Segment.objects.filter(camera=file_camera).order_by("started_at"))
    assert len(segments) >= 3
    for before, after in pairwise(segments):
        assert after.started_at >= before.ended_at  # no overlap
        assert after.started_at - before.ended_at < timedelta(milliseconds=300)  # no hole
    for segment in segments:
        # Cut on key frames (every 0.5 s) near 1 s; the last one closes at the stop, wherever.
        assert segment.duration <= 1.6
        assert segment.duration >= 0.5 or segment == segments[-1]
        raw = default_storage.open(segment.storage_path, "rb").read()
        assert raw.startswith(crypto.MAGIC) and b"ftyp" not in raw  # nothing in clear at rest
        media = probe(store.segment_read(segment))
        assert media["streams"] == ["video"]  # the source's audio track was dropped
        assert media["first_key"] and media["frames"] > 0
    lease = RecorderLease.objects.get(camera=file_camera)
    assert lease.holder == "" and lease.state == RecorderLease.State.STOPPED
    assert lease.last_segment_at is not None and lease.bitrate > 0


def test_a_flipped_byte_gives_an_integrity_error_not_garbage(file_camera):
    _record(file_camera, 2.5)
    segment = Segment.objects.filter(camera=file_camera).first()
    path = default_storage.path(segment.storage_path)
    with open(path, "r+b") as handle:
        handle.seek(segment.size // 2)
        byte = handle.read(1)
        handle.seek(segment.size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(crypto.SegmentIntegrityError, match="chunk"):
        store.segment_read(segment)


def test_only_one_recorder_holds_a_camera(file_camera):
    assert leases.lease_acquire(camera_id=file_camera.pk, holder="worker-a")
    assert not leases.lease_acquire(camera_id=file_camera.pk, holder="worker-b")
    assert _record(file_camera, 0.5, holder="worker-b") == "held by another recorder"
    RecorderLease.objects.filter(camera=file_camera).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert leases.lease_acquire(camera_id=file_camera.pk, holder="worker-b")  # lapsed: taken over
    assert not leases.lease_renew(camera_id=file_camera.pk, holder="worker-a")


def test_destroyed_day_key_makes_a_copy_of_the_object_unreadable(file_camera):
    _record(file_camera, 2.5)
    segment = Segment.objects.filter(camera=file_camera).first()
    copy = default_storage.open(segment.storage_path, "rb").read()
    data_key = keys.unwrap(segment.key)
    assert crypto.decrypt_segment(copy, data_key)
    key = segment.key
    key.wrapped, key.destroyed_at = b"", timezone.now()
    key.save()
    with pytest.raises(keys.KeyDestroyed):
        keys.unwrap(key)


def test_master_key_rotation_rewraps_keys_and_old_media_still_decrypt(file_camera, settings):
    _record(file_camera, 2.5)
    segment = Segment.objects.filter(camera=file_camera).first()
    before = store.segment_read(segment)
    old = keys.master_keys()[0]
    new = crypto.MasterKey.generate()
    assert keys.master_key_rotate(old=old, new=new, actor="test") >= 1
    settings.RECORDINGS_MASTER_KEY = __import__("base64").b64encode(new.key).decode()
    segment.refresh_from_db()
    assert store.segment_read(Segment.objects.get(pk=segment.pk)) == before
    assert AuditEvent.objects.filter(action="recording.master_key_rotated").exists()
