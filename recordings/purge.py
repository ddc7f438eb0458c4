"""The retention purge: destroy what the law no longer lets us keep, and write down that we did.

A run, at most one at a time:

1. refuses (audit event + error log) when the index and the store disagree grossly;
2. deletes the objects that an interrupted run had already marked destroyed;
3. per batch, in one transaction: marks the due, unheld segments destroyed, destroys the day
   keys left without a live segment, writes one register entry per camera and the audit event;
   only after the commit are the objects deleted (by worker threads, while the next batch is
   being destroyed), and the entries marked so once all their objects are gone;
4. destroys the day keys of past days that no live segment uses;
5. moves the held day keys of days wholly past retention under the holds key-encryption key,
   then destroys the key-encryption keys (KEKs) whose period is over and that wrap no live day
   key any more — deleting them from the key store is what makes the destroyed days unreadable
   in database backups too — and deletes what a killed run left in the key store;
6. deletes the objects left in folders past retention that no live row names (orphans of a
   recorder killed between writing and indexing, leftovers of the steps above).

Killed at any instant, the next run finishes the job: a batch is committed whole or not at all,
so the register never counts a segment twice, and a committed batch's objects are found again.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import os
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.actors import Actor, SystemActor
from audit import signals
from audit.services import record
from cameras.models import LEGAL_MAX_RETENTION_DAYS, Camera
from cameras.retention import retention_periods
from recordings import keys as day_keys
from recordings import keystore
from recordings.holds import held_segments
from recordings.models import DataKey, DestructionRecord, KeyEncryptionKey, PurgeRun, Segment

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = SystemActor("purge")
SEGMENTS_FOLDER = "segments"
# Arbitrary constant naming the PostgreSQL advisory lock held for the duration of a run.
_PURGE_LOCK = 0x_C5_0B_9E_6E
#: Newest live rows whose objects are checked before anything is deleted.
SAMPLE_SIZE = 20
#: Segments never last longer than this (RECORDING_SEGMENT_SECONDS is at most 600 s).
LONGEST_SEGMENT = timedelta(minutes=10)
DELETE_THREADS = 8
#: Objects per deletion task of a worker thread.
CHUNK = 250
#: Committed batches whose objects may still be being deleted while the next is destroyed.
MAX_BATCHES_IN_FLIGHT = 2
#: Keys per S3 DeleteObjects request (the API's maximum).
S3_DELETE_KEYS = 1000
#: Days after its period's end before a KEK may go: a recorder never stores a segment that late,
#: so no day key of the period is created after it.
KEK_PERIOD_MARGIN = timedelta(days=2)


class PurgeConflict(Exception):
    """A segment changed state under the batch's lock; the batch was rolled back."""


@dataclass(frozen=True)
class _Camera:
    pk: int
    code: str
    #: Everything ended by then is past retention, whatever period it was recorded in: the
    #: day-wise steps (keys, folders) go by it.
    cutoff: datetime
    #: Per period of recording, the end a segment must have reached to be past retention (the
    #: footage recorded before a validated lowering keeps the longer retention).
    due: tuple[tuple[datetime | None, datetime | None, datetime], ...]

    def due_segments(self) -> Q:
        """The segments past retention, each by the period it started in."""
        conditions = []
        for start, end, cutoff in self.due:
            period = Q(ended_at__lte=cutoff)
            if start is not None:
                period &= Q(started_at__gte=start)
            if end is not None:
                period &= Q(started_at__lt=end)
            conditions.append(period)
        return reduce(operator.or_, conditions)


@dataclass
class PurgeResult:
    state: str
    run: PurgeRun | None = None
    segments: int = 0
    bytes: int = 0
    keys: int = 0
    keks: int = 0
    orphans: int = 0
    entries: list[int] = field(default_factory=list)


def purge_run(
    *,
    now: datetime | None = None,
    job_id: str = "",
    batch_size: int | None = None,
    actor: Actor = SYSTEM_ACTOR,
) -> PurgeResult:
    """Destroy every segment older than its camera's retention at ``now``, unless held.

    A segment recorded before a validated lowering of its camera's retention keeps the longer
    retention in force when it was recorded (cameras.retention).

    Returns state ``busy`` without doing anything when another run is in progress, ``refused``
    when the store and the index disagree, ``done`` otherwise.
    """
    as_of = now or timezone.now()
    size = batch_size or settings.RECORDINGS_PURGE_BATCH
    job_id = job_id or uuid.uuid4().hex
    with _exclusive() as alone:
        run = _start(as_of, job_id, others_dead=alone is True) if alone is not False else None
        if run is None:
            logger.info("purge %s: another purge is running", job_id)
            return PurgeResult(state="busy")
        result = PurgeResult(state=PurgeRun.State.DONE, run=run)
        try:
            problem = store_disagreement()
            if problem:
                _refuse(run, problem, actor)
                result.state = PurgeRun.State.REFUSED
                return result
            finish_leftovers()
            cameras = _cameras(as_of)
            pending = list(cameras)
            with _Deleter() as deleter:
                while pending:
                    entries = _destroy_batch(run, pending, as_of, size, actor)
                    if entries:
                        # Committed: its objects go while the next batch is destroyed.
                        deleter.submit(entries)
                        for entry in entries:
                            result.segments += entry.segment_count
                            result.bytes += entry.bytes
                            result.keys += len(entry.keys)
                            result.entries.append(entry.pk)
            for entry in _destroy_unused_keys(run, cameras, actor):
                result.keys += len(entry.keys)
                result.entries.append(entry.pk)
            _adopt_master_wrapped_keys(actor)
            _move_held_keys(cameras, as_of, actor)
            result.keks = _destroy_spent_keks(run, as_of, actor)
            result.orphans = _sweep_expired_folders(run, cameras, as_of, actor)
        except BaseException as exc:
            _finish(run, PurgeRun.State.FAILED, detail=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        _finish(run, PurgeRun.State.DONE)
        run.refresh_from_db()
        logger.info(
            "purge %s: %d segments, %d bytes, %d keys, %d key-encryption keys destroyed, "
            "%d orphans deleted",
            job_id,
            result.segments,
            result.bytes,
            result.keys,
            result.keks,
            result.orphans,
        )
        return result


# --- One run at a time -----------------------------------------------------------------------


@contextmanager
def _exclusive() -> Iterator[bool | None]:
    """On PostgreSQL, a session advisory lock (released by the server if the process dies):
    True when taken, False when another holds it. Elsewhere None: the run row decides."""
    if connection.vendor != "postgresql":
        yield None
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_PURGE_LOCK])
        taken = cursor.fetchone()[0]
    try:
        yield bool(taken)
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_PURGE_LOCK])


def _start(as_of: datetime, job_id: str, *, others_dead: bool) -> PurgeRun | None:
    """The run row; None when another run is alive. A run row left ``running`` by a killed
    process is closed as interrupted: at once when the advisory lock proves its holder gone,
    otherwise once its heartbeat is older than RECORDINGS_PURGE_STALE_MINUTES."""
    wall = timezone.now()
    stale = PurgeRun.objects.filter(state=PurgeRun.State.RUNNING)
    if not others_dead:
        stale = stale.filter(
            heartbeat_at__lt=wall - timedelta(minutes=settings.RECORDINGS_PURGE_STALE_MINUTES)
        )
    stale.update(
        state=PurgeRun.State.INTERRUPTED, finished_at=wall, detail="interrupted; taken over"
    )
    try:
        with transaction.atomic():
            return PurgeRun.objects.create(
                job_id=job_id[:64],
                as_of=as_of,
                started_at=wall,
                heartbeat_at=wall,
                state=PurgeRun.State.RUNNING,
            )
    except IntegrityError:  # one_purge_running: another run is alive
        return None


def _finish(run: PurgeRun, state: str, detail: str = "") -> None:
    PurgeRun.objects.filter(pk=run.pk, state=PurgeRun.State.RUNNING).update(
        state=state, finished_at=timezone.now(), detail=detail
    )


# --- Refusing when the index and the store disagree ------------------------------------------


def _some_objects(limit: int) -> list[str]:
    """Up to ``limit`` object names of the store (FileNotFoundError: no segments folder)."""
    found: list[str] = []

    def walk(folder: str) -> None:
        dirs, files = default_storage.listdir(folder)
        found.extend(f"{folder}/{name}" for name in files[: limit - len(found)])
        for sub in sorted(dirs):
            if len(found) >= limit:
                return
            walk(f"{folder}/{sub}")

    walk(SEGMENTS_FOLDER)
    return found


def store_disagreement() -> str:
    """Why the store and the index disagree too much to delete anything ("" when they agree).

    Gross disagreement: the store cannot be listed; the index has no live segment while the
    store holds objects it does not know; the index has live segments while the store is empty
    or misses most of the newest ones (an unmounted volume, a wrong bucket).
    """
    try:
        objects = _some_objects(SAMPLE_SIZE)
    except FileNotFoundError:
        objects = []
    except OSError as exc:
        return f"store unreachable: {type(exc).__name__}: {exc}"
    newest = list(
        Segment.objects.filter(state=Segment.State.STORED)
        .order_by("-pk")
        .values_list("storage_path", flat=True)[:SAMPLE_SIZE]
    )
    if not newest:
        known = set(
            Segment.objects.filter(storage_path__in=objects).values_list("storage_path", flat=True)
        )
        unknown = [name for name in objects if name not in known]
        if unknown:
            return (
                f"index has no live segment but the store holds objects it does not know, "
                f"e.g. {unknown[0]}"
            )
        return ""
    if not objects:
        return "index lists live segments but the store holds no object"
    try:
        missing = [path for path in newest if not default_storage.exists(path)]
    except OSError as exc:
        return f"store unreachable: {type(exc).__name__}: {exc}"
    if len(missing) * 2 > len(newest):
        return (
            f"{len(missing)} of the {len(newest)} newest live segments are missing from the "
            f"store, e.g. {missing[0]}"
        )
    return ""


def _refuse(run: PurgeRun, problem: str, actor: Actor) -> None:
    logger.error("purge %s refused: %s", run.job_id, problem)
    with transaction.atomic():
        PurgeRun.objects.filter(pk=run.pk, state=PurgeRun.State.RUNNING).update(
            state=PurgeRun.State.REFUSED, finished_at=timezone.now(), detail=problem[:2000]
        )
        record(
            "recording.purge_refused",
            actor=actor,
            target=run,
            target_label=run.job_id,
            details={"job_id": run.job_id, "problem": problem},
        )
    # One disagreement between store and index, however many runs refuse on it.
    signals.report_integrity_failure(
        key="recording.purge_refused",
        detector="recording.purge_refused",
        summary=problem,
        details={"job_id": run.job_id},
        at=timezone.now(),
    )


# --- Destroying ------------------------------------------------------------------------------


def _cameras(as_of: datetime) -> list[_Camera]:
    rows = list(Camera.objects.order_by("pk").values_list("pk", "code", "retention_days"))
    periods = retention_periods({pk: days for pk, _code, days in rows}, as_of)
    cameras = []
    for pk, code, _days in rows:
        due = tuple(
            (period.start, period.end, as_of - timedelta(days=period.days))
            for period in periods[pk]
        )
        cameras.append(_Camera(pk, code, min(cutoff for _s, _e, cutoff in due), due))
    return cameras


def segments_digest(hashes: Iterable[str]) -> str:
    """SHA-256 over the segments' SHA-256 (hex, each followed by a newline), in order."""
    digest = hashlib.sha256()
    for value in hashes:
        digest.update(value.encode("ascii") + b"\n")
    return digest.hexdigest()


def _destroy_batch(
    run: PurgeRun, pending: list[_Camera], as_of: datetime, size: int, actor: Actor
) -> list[DestructionRecord]:
    """One transaction: up to ``size`` due segments destroyed, keys, register, audit.

    Cameras with nothing more to destroy are removed from ``pending``.
    """
    with transaction.atomic():
        picked: dict[int, list[tuple]] = {}
        remaining = size
        while pending and remaining:
            camera = pending[0]
            rows = list(
                Segment.objects.select_for_update(skip_locked=True)
                .filter(camera.due_segments(), camera_id=camera.pk, state=Segment.State.STORED)
                .exclude(held_segments(as_of))
                .order_by("ended_at", "pk")
                .values_list(
                    "pk", "key_id", "started_at", "ended_at", "size", "sha256", "storage_path"
                )[:remaining]
            )
            if len(rows) < remaining:
                pending.pop(0)
            if rows:
                picked[camera.pk] = rows
                remaining -= len(rows)
        if not picked:
            return []
        destroyed_at = timezone.now()
        pks = [row[0] for rows in picked.values() for row in rows]
        changed = Segment.objects.filter(pk__in=pks, state=Segment.State.STORED).update(
            state=Segment.State.DESTROYED, destroyed_at=destroyed_at
        )
        if changed != len(pks):
            raise PurgeConflict(f"{len(pks) - changed} segments changed state under the lock")
        keys = _destroy_keys_without_live_segments(
            {row[1] for rows in picked.values() for row in rows}, destroyed_at
        )
        entries = []
        for camera_id, rows in picked.items():
            ordered = sorted(rows, key=lambda row: (row[2], row[0]))
            entries.append(
                _with_paths(
                    [row[6] for row in ordered],
                    run=run,
                    camera_id=camera_id,
                    window_start=ordered[0][2],
                    window_end=max(row[3] for row in ordered),
                    segment_count=len(ordered),
                    bytes=sum(row[4] for row in ordered),
                    digest=segments_digest(row[5] for row in ordered),
                    keys=sorted(keys.get(camera_id, [])),
                    destroyed_at=destroyed_at,
                )
            )
        for camera_id, key_ids in keys.items():  # a key whose last segments went earlier
            if camera_id not in picked:
                entries.append(_keys_entry(run, camera_id, key_ids, destroyed_at))
        entries = DestructionRecord.objects.bulk_create(entries)
        _account(run, entries, actor)
    return entries


def _destroy_keys_without_live_segments(
    key_pks: Iterable[int], destroyed_at: datetime
) -> dict[int, list[str]]:
    """Crypto-shredding: the given day keys that no live segment uses any more, destroyed."""
    doomed = list(
        DataKey.objects.select_for_update()
        .filter(pk__in=list(key_pks), destroyed_at__isnull=True)
        .exclude(Exists(Segment.objects.filter(key=OuterRef("pk"), state=Segment.State.STORED)))
        .values_list("pk", "camera_id", "key_id")
    )
    if not doomed:
        return {}
    DataKey.objects.filter(pk__in=[pk for pk, _, _ in doomed], destroyed_at__isnull=True).update(
        wrapped=b"", destroyed_at=destroyed_at
    )
    by_camera: dict[int, list[str]] = defaultdict(list)
    for _, camera_id, key_id in doomed:
        by_camera[camera_id].append(key_id)
    return dict(by_camera)


def _keys_entry(
    run: PurgeRun, camera_id: int, key_ids: list[str], destroyed_at: datetime
) -> DestructionRecord:
    return DestructionRecord(
        run=run,
        camera_id=camera_id,
        segment_count=0,
        bytes=0,
        digest=segments_digest([]),
        keys=sorted(key_ids),
        destroyed_at=destroyed_at,
        objects_deleted_at=destroyed_at,  # nothing to delete
    )


def _account(run: PurgeRun, entries: list[DestructionRecord], actor: Actor) -> None:
    """Run totals, heartbeat and the audit event, inside the batch's transaction."""
    segments = sum(entry.segment_count for entry in entries)
    size = sum(entry.bytes for entry in entries)
    keys = sum(len(entry.keys) for entry in entries)
    PurgeRun.objects.filter(pk=run.pk).update(
        segments_destroyed=F("segments_destroyed") + segments,
        bytes_destroyed=F("bytes_destroyed") + size,
        keys_destroyed=F("keys_destroyed") + keys,
        heartbeat_at=timezone.now(),
    )
    codes = dict(
        Camera.objects.filter(pk__in={entry.camera_id for entry in entries}).values_list(
            "pk", "code"
        )
    )
    record(
        "recording.destroyed",
        actor=actor,
        target=run,
        target_label=run.job_id,
        reason="retention",
        details={
            "job_id": run.job_id,
            "segments": segments,
            "bytes": size,
            "entries": [
                {
                    "entry": entry.pk,
                    "camera": codes[entry.camera_id],
                    "segments": entry.segment_count,
                    "bytes": entry.bytes,
                    "from": entry.window_start,
                    "to": entry.window_end,
                    "digest": entry.digest,
                    "keys": entry.keys,
                }
                for entry in entries
            ],
        },
    )


def _with_paths(paths: list[str], **fields: Any) -> DestructionRecord:
    """A register entry that remembers the storage paths of its segments (not saved)."""
    entry = DestructionRecord(**fields)
    entry._purge_paths = paths  # type: ignore[attr-defined]
    return entry


def _local_root(storage: Any) -> str | None:
    """The folder of a filesystem store, None for any other store."""
    if isinstance(storage, FileSystemStorage):
        return os.path.abspath(storage.location)
    return None


def _s3_client(storage: Any) -> Any | None:
    """The boto3 client of a django-storages S3 store (thread-local there), else None."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return None
    if isinstance(storage, S3Storage):
        return storage.connection.meta.client
    return None


def _local_path(root: str, name: str) -> str:
    """``name`` under ``root``; refuses names that would leave it (they come from the index,
    but a deletion is no place to trust a string)."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or ".." in parts or "" in parts:
        raise ValueError(f"refusing to delete {name!r}: not a plain relative object name")
    return os.path.join(root, *parts)


def _delete_objects(paths: list[str]) -> None:
    """Delete these objects from the store; an object already gone is not an error.

    A filesystem store: ``os.unlink`` on each resolved path (no storage-API round trip, no
    ``isdir`` per object). An S3 store: ``DeleteObjects``, 1,000 keys a request. Any other
    store: its ``delete``. Anything else than "already gone" raises, so that the entry stays
    without ``objects_deleted_at`` and the next run deletes again.
    """
    if not paths:
        return
    root = _local_root(default_storage)
    if root is not None:
        for name in paths:
            try:  # noqa: SIM105 - the hot loop of the purge: no context manager per object
                os.unlink(_local_path(root, name))
            except FileNotFoundError:
                pass
        return
    client = _s3_client(default_storage)
    if client is not None:
        from storages.utils import clean_name

        store: Any = default_storage  # django-storages' S3Storage (untyped): its client was found
        keys = [store._normalize_name(clean_name(name)) for name in paths]
        for start in range(0, len(keys), S3_DELETE_KEYS):
            answer = client.delete_objects(
                Bucket=store.bucket_name,
                Delete={
                    "Objects": [{"Key": key} for key in keys[start : start + S3_DELETE_KEYS]],
                    "Quiet": True,
                },
            )
            errors = answer.get("Errors") or []
            if errors:  # a missing key is not reported: S3 deletes idempotently
                first = errors[0]
                raise OSError(
                    f"S3 refused to delete {len(errors)} objects, e.g. {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
        return
    for name in paths:
        default_storage.delete(name)


def _chunks(paths: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


class _Deleter:
    """Deletes the objects of committed batches in worker threads while the run goes on.

    Each batch's paths go out in chunks (the workers spend their time in system calls or
    network waits, outside the GIL). Once every chunk of a batch is done, its entries are marked
    ``objects_deleted_at`` by the run's own thread (its database connection); a failed chunk
    leaves them unmarked and is raised. At most MAX_BATCHES_IN_FLIGHT batches wait at a time.
    Killed at any point, the next run's ``finish_leftovers`` deletes the unmarked entries'
    objects again.
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=DELETE_THREADS, thread_name_prefix="purge-rm")
        self.in_flight: deque[tuple[list[DestructionRecord], list[Future]]] = deque()

    def __enter__(self) -> _Deleter:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            try:
                self._reap(keep=0)
            finally:
                self.pool.shutdown(wait=True)
        else:  # the run failed: let running chunks end, start no others, mark nothing
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, entries: list[DestructionRecord]) -> None:
        todo = [e for e in entries if e.segment_count and e.objects_deleted_at is None]
        if not todo:
            return
        paths = [path for entry in todo for path in entry._purge_paths]  # type: ignore[attr-defined]
        futures = [self.pool.submit(_delete_objects, chunk) for chunk in _chunks(paths, CHUNK)]
        self.in_flight.append((todo, futures))
        self._reap(keep=MAX_BATCHES_IN_FLIGHT)

    def _reap(self, keep: int) -> None:
        while self.in_flight and (
            len(self.in_flight) > keep or all(f.done() for f in self.in_flight[0][1])
        ):
            entries, futures = self.in_flight.popleft()
            for future in futures:
                future.result()  # raises what a chunk raised
            _mark_objects_deleted(entries)


def _mark_objects_deleted(entries: list[DestructionRecord]) -> None:
    DestructionRecord.objects.filter(
        pk__in=[entry.pk for entry in entries], objects_deleted_at__isnull=True
    ).update(objects_deleted_at=timezone.now())


def _entry_paths(entry: DestructionRecord) -> list[str]:
    """The storage paths of an entry's segments, found again from the index."""
    segments = Segment.objects.filter(
        camera_id=entry.camera_id, state=Segment.State.DESTROYED, destroyed_at=entry.destroyed_at
    )
    if entry.window_start is not None:  # bounds the walk of the (camera, started_at) index
        segments = segments.filter(started_at__gte=entry.window_start)
    if entry.window_end is not None:
        segments = segments.filter(started_at__lt=entry.window_end)
    return list(segments.values_list("storage_path", flat=True))


def _delete_entry_objects(entries: list[DestructionRecord]) -> None:
    """Delete the objects of committed entries (their paths read from the index), then mark
    the entries."""
    todo = [entry for entry in entries if entry.segment_count and entry.objects_deleted_at is None]
    if not todo:
        return
    with _Deleter() as deleter:
        for entry in todo:
            entry._purge_paths = _entry_paths(entry)  # type: ignore[attr-defined]
        deleter.submit(todo)


def finish_leftovers() -> int:
    """Delete the objects of entries committed by a run killed before it deleted them."""
    entries = list(
        DestructionRecord.objects.filter(objects_deleted_at__isnull=True, segment_count__gt=0)
    )
    _delete_entry_objects(entries)
    return len(entries)


def _destroy_unused_keys(
    run: PurgeRun, cameras: list[_Camera], actor: Actor
) -> list[DestructionRecord]:
    """Day keys of days wholly past retention that no live segment uses (a recorder that
    created the key then never stored, or a day whose last held segment was released)."""
    entries: list[DestructionRecord] = []
    for camera in cameras:
        # A segment of day D ends by D+1 00:10: D is wholly past once the cutoff passes D+2.
        last_day = timezone.localdate(camera.cutoff) - timedelta(days=2)
        with transaction.atomic():
            keys = list(
                DataKey.objects.select_for_update()
                .filter(camera_id=camera.pk, destroyed_at__isnull=True, day__lte=last_day)
                .exclude(
                    Exists(Segment.objects.filter(key=OuterRef("pk"), state=Segment.State.STORED))
                )
                .values_list("pk", flat=True)
            )
            if not keys:
                continue
            destroyed_at = timezone.now()
            key_ids = _destroy_keys_without_live_segments(keys, destroyed_at)
            if not key_ids:
                continue
            new = [_keys_entry(run, camera.pk, key_ids[camera.pk], destroyed_at)]
            new = DestructionRecord.objects.bulk_create(new)
            _account(run, new, actor)
            entries.extend(new)
    return entries


def _adopt_master_wrapped_keys(actor: Actor) -> int:
    """Live day keys made before key-encryption keys (wrapped by the master key itself)
    re-wrapped under their period's KEK, so that backups taken from now on hold them that way."""
    adopted = 0
    for camera_id in (
        DataKey.objects.filter(destroyed_at__isnull=True, kek__isnull=True)
        .values_list("camera_id", flat=True)
        .distinct()
        .order_by("camera_id")
    ):
        with transaction.atomic():
            legacy = list(
                DataKey.objects.select_for_update()
                .select_related("camera")
                .filter(camera_id=camera_id, destroyed_at__isnull=True, kek__isnull=True)
                .order_by("day")
            )
            moved = day_keys.day_keys_adopt(keys=legacy)
            if moved:
                record(
                    "recording.keys_adopted",
                    actor=actor,
                    target=legacy[0].camera,
                    details={"keys": moved},
                )
            adopted += len(moved)
    return adopted


def _move_held_keys(cameras: list[_Camera], as_of: datetime, actor: Actor) -> int:
    """Day keys of days wholly past retention that are still live — their footage is held —
    re-wrapped under the holds KEK, so that their period's KEK can be destroyed."""
    moved = 0
    today = timezone.localdate(as_of)
    for camera in cameras:
        last_day = timezone.localdate(camera.cutoff) - timedelta(days=2)
        with transaction.atomic():
            held = list(
                DataKey.objects.select_for_update(of=("self",))
                .select_related("kek")
                .filter(camera_id=camera.pk, destroyed_at__isnull=True, day__lte=last_day)
                .filter(Q(kek__isnull=True) | Q(kek__kind=KeyEncryptionKey.Kind.PERIOD))
                .order_by("pk")
            )
            moved += day_keys.day_keys_move_to_holds(keys=held, today=today, actor=actor)
    return moved


def _destroy_spent_keks(run: PurgeRun, as_of: datetime, actor: Actor) -> int:
    """Destroy the KEKs whose period ended (with a margin) and that wrap no live day key: the
    row is marked in one transaction with the run's count and the audit event, then the key
    store's objects are deleted; what a killed run left there is deleted too."""
    last_end = timezone.localdate(as_of) - KEK_PERIOD_MARGIN
    store = keystore.storage()
    with transaction.atomic():
        spent = list(
            KeyEncryptionKey.objects.select_for_update()
            .filter(destroyed_at__isnull=True, period_end__lte=last_end)
            .exclude(Exists(DataKey.objects.filter(kek=OuterRef("pk"), destroyed_at__isnull=True)))
            .order_by("pk")
        )
        if spent:
            wrapped = dict(
                DataKey.objects.filter(kek__in=spent)
                .values_list("kek")
                .annotate(n=Count("pk"))
                .values_list("kek", "n")
            )
            destroyed_at = timezone.now()
            KeyEncryptionKey.objects.filter(pk__in=[kek.pk for kek in spent]).update(
                destroyed_at=destroyed_at, run=run
            )
            PurgeRun.objects.filter(pk=run.pk).update(
                keks_destroyed=F("keks_destroyed") + len(spent), heartbeat_at=timezone.now()
            )
            record(
                "recording.kek_destroyed",
                actor=actor,
                target=run,
                target_label=run.job_id,
                reason="retention",
                details={
                    "job_id": run.job_id,
                    "keks": [
                        {
                            "kek": kek.name,
                            "kind": kek.kind,
                            "period_start": kek.period_start,
                            "period_end": kek.period_end,
                            "retention_days": kek.retention_days,
                            "day_keys": wrapped.get(kek.pk, 0),
                        }
                        for kek in spent
                    ],
                },
            )
    _forget_keks([kek.name for kek in spent], store)  # committed: now the key store forgets
    _sweep_key_store(run, store)
    return len(spent)


def _forget_keks(names: list[str], store: Any) -> None:
    for name in names:
        keystore.delete(name, store)


def _sweep_key_store(run: PurgeRun, store: Any) -> None:
    """Delete from the key store what has no live KEK: the objects of destroyed KEKs that a
    killed run left, and those of a KEK whose creation never reached the database (once older
    than the orphan grace, so that a creation in progress is left alone)."""
    present = keystore.names(store)
    if not present:
        return
    state = dict(
        KeyEncryptionKey.objects.filter(name__in=present).values_list("name", "destroyed_at")
    )
    limit = timezone.now() - timedelta(hours=settings.RECORDINGS_ORPHAN_GRACE_HOURS)
    deleted = 0
    for name in present:
        if name in state:
            if state[name] is None:
                continue  # live
        else:
            written = keystore.stored_at(name, store)
            if written is not None and written > limit:
                continue
        keystore.delete(name, store)
        deleted += 1
    if deleted:
        logger.warning(
            "purge %s: %d key-encryption keys without a live row deleted from the key store",
            run.job_id,
            deleted,
        )


def _sweep_expired_folders(
    run: PurgeRun, cameras: list[_Camera], as_of: datetime, actor: Actor
) -> int:
    """Delete what remains in day folders wholly past retention and is not a live segment.

    Objects are filed under segments/<camera>/<YYYY>/<MM>/<DD>/ (UTC day of their start).
    Returns the number of orphans (objects no index row names) deleted.
    """
    grace = timedelta(hours=settings.RECORDINGS_ORPHAN_GRACE_HOURS) + LONGEST_SEGMENT
    cutoffs = {camera.code: camera.cutoff for camera in cameras}
    unknown_cutoff = as_of - timedelta(days=LEGAL_MAX_RETENTION_DAYS)
    try:
        codes, _ = default_storage.listdir(SEGMENTS_FOLDER)
    except FileNotFoundError:
        return 0
    orphans_total = 0
    for code in sorted(codes):
        limit = cutoffs.get(code, unknown_cutoff) - grace
        orphans: list[str] = []
        for folder, day in _day_folders(f"{SEGMENTS_FOLDER}/{code}"):
            if day + timedelta(days=1) > limit:
                continue
            _, files = default_storage.listdir(folder)
            names = [f"{folder}/{name}" for name in files]
            live = set(
                Segment.objects.filter(
                    state=Segment.State.STORED, storage_path__startswith=f"{folder}/"
                ).values_list("storage_path", flat=True)
            )
            doomed = [name for name in names if name not in live]
            if doomed:
                known: set[str] = set()
                for start in range(0, len(doomed), 500):
                    known.update(
                        Segment.objects.filter(
                            storage_path__in=doomed[start : start + 500]
                        ).values_list("storage_path", flat=True)
                    )
                _delete_objects(doomed)
                orphans.extend(name for name in doomed if name not in known)
            if not live:
                _remove_empty_folders(folder, levels=3)
        if orphans:
            with transaction.atomic():
                PurgeRun.objects.filter(pk=run.pk).update(
                    orphans_deleted=F("orphans_deleted") + len(orphans),
                    heartbeat_at=timezone.now(),
                )
                record(
                    "recording.orphans_deleted",
                    actor=actor,
                    target=run,
                    target_label=run.job_id,
                    reason="retention",
                    details={"job_id": run.job_id, "camera": code, "objects": orphans[:1000]},
                )
            logger.warning(
                "purge %s: %d unindexed objects of %s deleted", run.job_id, len(orphans), code
            )
            orphans_total += len(orphans)
    return orphans_total


def _day_folders(camera_folder: str) -> Iterator[tuple[str, datetime]]:
    for year in sorted(default_storage.listdir(camera_folder)[0]):
        for month in sorted(default_storage.listdir(f"{camera_folder}/{year}")[0]):
            for day in sorted(default_storage.listdir(f"{camera_folder}/{year}/{month}")[0]):
                try:
                    start = datetime(int(year), int(month), int(day), tzinfo=UTC)
                except ValueError:  # not one of ours: leave it alone
                    continue
                yield f"{camera_folder}/{year}/{month}/{day}", start


def _remove_empty_folders(folder: str, levels: int) -> None:
    """Folders exist only on a filesystem store; an object store has none to remove."""
    if not isinstance(default_storage, FileSystemStorage):
        return
    path = default_storage.path(folder)
    for _ in range(levels):
        try:
            os.rmdir(path)
        except OSError:  # not empty (or already gone): stop climbing
            return
        path = os.path.dirname(path)


# --- Reading the register ----------------------------------------------------------------------


def destructions(
    *, camera: Camera | None = None, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[DestructionRecord]:
    """Register entries, newest first, about ``camera``'s images of [start, end) when given.

    An entry that destroyed only keys has no window: it is matched on its destruction time.
    """
    entries = DestructionRecord.objects.select_related("camera", "run")
    if camera is not None:
        entries = entries.filter(camera=camera)
    if start is not None:
        entries = entries.filter(
            Q(window_end__gt=start) | Q(window_start__isnull=True, destroyed_at__gte=start)
        )
    if end is not None:
        entries = entries.filter(Q(window_start__lt=end) | Q(window_start__isnull=True))
    return entries.order_by("-destroyed_at", "-pk")


@dataclass(frozen=True)
class FootageStatus:
    """What became of a camera's images over a period: the answer to "were they deleted?"."""

    destroyed_segments: int
    first_destroyed_at: datetime | None
    last_destroyed_at: datetime | None
    kept_segments: int
    held_segments: int


def footage_status(*, camera: Camera, start: datetime, end: datetime) -> FootageStatus:
    overlap = Q(camera=camera, started_at__lt=end, ended_at__gt=start)
    destroyed = Segment.objects.filter(overlap, state=Segment.State.DESTROYED).aggregate(
        n=Count("pk"), first=Min("destroyed_at"), last=Max("destroyed_at")
    )
    kept = Segment.objects.filter(overlap, state=Segment.State.STORED)
    return FootageStatus(
        destroyed_segments=destroyed["n"],
        first_destroyed_at=destroyed["first"],
        last_destroyed_at=destroyed["last"],
        kept_segments=kept.count(),
        held_segments=kept.filter(held_segments()).count(),
    )
