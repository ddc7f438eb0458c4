"""Writing segments: encrypt in memory, store durably, then (only then) index."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from cameras.models import Camera
from recordings import crypto, keys
from recordings.models import Segment

logger = logging.getLogger(__name__)

STORE_ATTEMPTS = 4


@dataclass(frozen=True)
class Clip:
    """A closed segment as the recorder hands it over: plaintext fMP4 in memory, never on disk."""

    started_at: datetime
    ended_at: datetime
    payload: bytes
    codec: str
    width: int | None = None
    height: int | None = None
    frames: int = 0
    #: The camera's clock against arrival during the segment (remux.Segment.clock_offset).
    clock_offset_ms: float | None = None
    clock_source: str = ""


def object_path(camera: Camera, started_at: datetime) -> str:
    utc = started_at.astimezone(UTC)
    return f"segments/{camera.code}/{utc:%Y/%m/%d/%H%M%S}-{uuid.uuid4().hex[:12]}.csuseg"


def _put(path: str, ciphertext: bytes | bytearray) -> None:
    """Store the object, retrying I/O errors with backoff; the same name or nothing."""
    delay = 0.5
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            saved = default_storage.save(path, ContentFile(bytes(ciphertext)))
            if saved != path:  # the storage renamed it: never index under another name
                default_storage.delete(saved)
                raise OSError(f"storage renamed {path} to {saved}")
            return
        except OSError as exc:
            if default_storage.exists(path):
                default_storage.delete(path)
            if attempt == STORE_ATTEMPTS:
                raise
            logger.warning("storing %s failed (%s), attempt %d", path, exc, attempt)
            time.sleep(delay)
            delay *= 2


def segment_store(*, camera: Camera, clip: Clip) -> Segment:
    """Encrypt, store, then index one segment. No index row ever points to a missing object."""
    key, data_key = keys.day_key(camera, timezone.localdate(clip.started_at))
    ciphertext = crypto.encrypt_segment(clip.payload, data_key, key.key_id)
    path = object_path(camera, clip.started_at)
    _put(path, ciphertext)
    try:
        with transaction.atomic():
            segment = Segment(
                camera=camera,
                started_at=clip.started_at,
                ended_at=clip.ended_at,
                size=len(ciphertext),
                sha256=hashlib.sha256(ciphertext).hexdigest(),
                key=key,
                storage_path=path,
                codec=clip.codec,
                width=clip.width,
                height=clip.height,
                frames=clip.frames,
                clock_offset_ms=clip.clock_offset_ms,
                clock_source=clip.clock_source,
            )
            segment.full_clean()
            segment.save()
    except BaseException:
        default_storage.delete(path)  # no orphan object either
        raise
    return segment


def segment_read(segment: Segment) -> bytes:
    """The decrypted segment; SegmentIntegrityError if the stored object was altered."""
    with default_storage.open(segment.storage_path, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != segment.sha256:
        # Still decrypt: the error then names the chunk that fails.
        crypto.decrypt_segment(data, keys.unwrap(segment.key))
        raise crypto.SegmentIntegrityError("the stored object differs from its indexed hash")
    return crypto.decrypt_segment(data, keys.unwrap(segment.key))


@dataclass
class Reconciliation:
    objects_without_rows: list[str]
    rows_without_objects: list[int]


def reconcile() -> Reconciliation:
    """Compare the store and the index; report, never delete."""
    indexed = dict(
        Segment.objects.filter(state=Segment.State.STORED).values_list("storage_path", "pk")
    )
    present: set[str] = set()

    def walk(folder: str) -> None:
        try:
            dirs, files = default_storage.listdir(folder)
        except FileNotFoundError:
            return
        for name in files:
            present.add(f"{folder}/{name}")
        for sub in dirs:
            walk(f"{folder}/{sub}")

    walk("segments")
    return Reconciliation(
        objects_without_rows=sorted(present - set(indexed)),
        rows_without_objects=sorted(pk for path, pk in indexed.items() if path not in present),
    )
