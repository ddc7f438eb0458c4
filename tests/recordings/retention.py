"""Helpers of the retention tests: encrypted segments written in the past, quickly."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db.models import Q

from cameras.models import Camera
from cameras.retention import retention_periods
from recordings import keystore, store
from recordings.holds import held_segments
from recordings.models import DataKey, DestructionRecord, KeyEncryptionKey, Segment


def store_recorded(camera: Camera, pieces, shift: timedelta = timedelta(0)) -> None:
    """Store segments the remuxer really produced, as the recorder does (``shift`` back in time)."""
    for piece in pieces:
        store.segment_store(
            camera=camera,
            clip=store.Clip(
                started_at=piece.start - shift,
                ended_at=piece.end - shift,
                payload=piece.data,
                codec=piece.codec,
                width=piece.width,
                height=piece.height,
                frames=piece.frames,
            ),
        )


def make_camera(code: str, retention_days: int = 15) -> Camera:
    return Camera.objects.create(
        code=code,
        name=f"Caméra {code}",
        sector="centre",
        kind="fixed",
        stream_url="rtsp://192.0.2.1/stream",
        retention_days=retention_days,
    )


def payload(camera: Camera, started_at: datetime) -> bytes:
    return f"{camera.code}|{started_at.isoformat()}|".encode() * 20


def record_segments(
    camera: Camera, start: datetime, count: int, seconds: int = 60
) -> list[Segment]:
    """``count`` back-to-back segments from ``start``, encrypted and stored as the recorder does."""
    segments = []
    for index in range(count):
        began = start + timedelta(seconds=seconds * index)
        clip = store.Clip(
            started_at=began,
            ended_at=began + timedelta(seconds=seconds),
            payload=payload(camera, began),
            codec="h264",
        )
        segments.append(store.segment_store(camera=camera, clip=clip))
    return segments


def assert_consistent(now: datetime) -> None:
    """Store, index and register agree after a purge at ``now``."""
    for segment in Segment.objects.select_related("camera", "key"):
        exists = default_storage.exists(segment.storage_path)
        if segment.state == Segment.State.DESTROYED:
            assert not exists, f"object of destroyed {segment} still in the store"
            assert segment.destroyed_at is not None
        else:
            assert exists, f"object of live {segment} missing"
            assert segment.key.destroyed_at is None, f"live {segment} has a destroyed key"
    # Every destroyed segment is counted exactly once in the register.
    destroyed = Segment.objects.filter(state=Segment.State.DESTROYED)
    counted = sum(DestructionRecord.objects.values_list("segment_count", flat=True))
    assert counted == destroyed.count()
    for entry in DestructionRecord.objects.filter(segment_count__gt=0):
        rows = destroyed.filter(camera=entry.camera, destroyed_at=entry.destroyed_at)
        assert rows.count() == entry.segment_count
        assert entry.objects_deleted_at is not None
    # Nothing past retention survives unless a hold covers it.
    # Each segment by the retention in force when it was recorded (cameras.retention).
    cameras = list(Camera.objects.all())
    periods = retention_periods({c.pk: c.retention_days for c in cameras}, now)
    for camera in cameras:
        for period in periods[camera.pk]:
            overdue = Segment.objects.filter(
                Q(camera=camera, state=Segment.State.STORED),
                Q(ended_at__lte=now - timedelta(days=period.days)),
            ).exclude(held_segments(now))
            if period.start is not None:
                overdue = overdue.filter(started_at__gte=period.start)
            if period.end is not None:
                overdue = overdue.filter(started_at__lt=period.end)
            assert not overdue.exists(), (
                f"{camera.code}: {overdue.count()} overdue segments survive"
            )
    # The key store holds the live key-encryption keys, and nothing of the destroyed ones.
    for kek in KeyEncryptionKey.objects.all():
        stored = keystore.fingerprints(kek.name)
        if kek.destroyed_at is None:
            assert stored, f"live {kek} missing from the key store"
        else:
            assert not stored, f"destroyed {kek} still in the key store"
            assert not DataKey.objects.filter(kek=kek, destroyed_at__isnull=True).exists()
