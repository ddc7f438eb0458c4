"""The recorder: keeps one camera recorded while it holds the camera's lease."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import SystemActor, record
from cameras import sources
from cameras.models import Camera, CameraStatus
from cameras.services import recording_authorizations_sync
from recordings import clock, leases, remux, store
from recordings.models import Gap, RecorderLease

logger = logging.getLogger(__name__)

#: Set when the worker shuts down: every recorder closes its open segment and stops.
shutting_down = threading.Event()
#: The stop events of the recorders running in this process (see stop_all).
_running: set[threading.Event] = set()
_running_lock = threading.Lock()

#: The gap's cause when a recorder holds a camera but stores nothing.
SILENCE_REASON = (
    "aucun segment enregistré depuis %(seconds)s s alors que l'enregistreur tient la caméra"
)


def stop_all() -> None:
    """The worker is shutting down (SIGTERM): every recorder stores its open segment now."""
    shutting_down.set()
    with _running_lock:
        for event in _running:
            event.set()


#: What a lost database connection raises (server restarted, backend terminated, network cut).
CONNECTION_LOST = (OperationalError, InterfaceError)

T = TypeVar("T")


def _reconnecting(action: Callable[[], T], what: str) -> T:
    """Run ``action``; if the database connection was lost, reconnect once and run it again.

    The connection is this thread's: closing it makes Django open a new one on the next query.
    A second failure (the database still down) is raised to the caller.
    """
    try:
        return action()
    except CONNECTION_LOST as exc:
        logger.warning("recorder: database connection lost during %s (%s); reconnecting", what, exc)
        connection.close()
        return action()


class IndexSink:
    """Stores each segment (encrypted, then indexed) and records gaps."""

    def __init__(self, camera: Camera, holder: str) -> None:
        self.camera = camera
        self.holder = holder
        self._gap_id: int | None = None
        # The recording thread stores and reports gaps; the supervising thread watches silence.
        self._lock = threading.RLock()
        self._silent = False
        #: When a segment was last stored (or the recorder started), monotonic clock.
        self.stored_at = time.monotonic()
        #: Where the footage stored so far ends.
        self.footage_end: datetime | None = None

    def segment(self, segment: remux.Segment) -> None:
        close_old_connections()
        clip = store.Clip(
            started_at=segment.start,
            ended_at=segment.end,
            payload=segment.data,
            codec=segment.codec,
            width=segment.width,
            height=segment.height,
            frames=segment.frames,
            clock_offset_ms=None if segment.clock_offset is None else segment.clock_offset * 1000,
            clock_source=segment.clock_source,
        )
        # segment_store deletes the object when indexing fails: a retry stores it afresh.
        stored = _reconnecting(
            lambda: store.segment_store(camera=self.camera, clip=clip), "segment store"
        )
        if clip.clock_offset_ms is not None:
            offset = clip.clock_offset_ms
            _reconnecting(
                lambda: clock.camera_clock_note(
                    camera_id=self.camera.pk,
                    offset_ms=offset,
                    source=segment.clock_source,
                    measured_at=segment.end,
                    holder=self.holder,
                ),
                "camera clock",
            )
        bitrate = int(stored.size * 8 / max(segment.duration, 0.001))
        _reconnecting(
            lambda: leases.lease_note(
                camera_id=self.camera.pk,
                holder=self.holder,
                last_segment_at=segment.end,
                bitrate=bitrate,
                state=RecorderLease.State.RECORDING,
            ),
            "lease note",
        )
        with self._lock:
            self.stored_at = time.monotonic()
            self.footage_end = segment.end
            self._silent = False
            if self._gap_id is not None:  # recording resumed: the outage ends where this starts
                Gap.objects.filter(pk=self._gap_id).update(ended_at=segment.start)
                self._gap_id = None

    def open_gap(self, start: datetime, reason: str, *, end: datetime | None = None) -> None:
        """Record an outage once; without ``end`` it stays open until a segment is stored."""
        with self._lock:
            if self._gap_id is not None:
                return
            with transaction.atomic():
                row = Gap.objects.create(
                    camera=self.camera, started_at=start, ended_at=end, reason=reason[:300]
                )
                if end is None:
                    self._gap_id = row.pk
                details = {"since": start} if end is None else {"since": start, "until": end}
                record(
                    "recording.gap",
                    actor=SystemActor(f"recorder {self.holder}"),
                    target=self.camera,
                    reason=reason,
                    details=details,
                )

    def gap(self, gap: remux.Gap) -> None:
        close_old_connections()
        with self._lock:
            if gap.end is None:
                self.open_gap(gap.start, gap.reason)
                leases.lease_note(
                    camera_id=self.camera.pk,
                    holder=self.holder,
                    state=RecorderLease.State.RECONNECTING,
                    last_error=gap.reason[:500],
                )
            elif self._gap_id is not None:
                Gap.objects.filter(pk=self._gap_id).update(ended_at=gap.end)
                self._gap_id = None
            else:  # a gap known only once over (the wait for a first key frame)
                self.open_gap(gap.start, gap.reason, end=gap.end)

    def watch_silence(self, limit: float) -> bool:
        """Alert once when nothing was stored for ``limit`` seconds; True when it alerted.

        The alert is an audit event and an open gap from the end of the last footage (the
        dashboards show the camera as not recording); the next stored segment closes the gap.
        """
        with self._lock:
            silent_for = time.monotonic() - self.stored_at
            if self._silent or silent_for <= limit:
                return False
            self._silent = True
            since = self.footage_end or timezone.now() - timedelta(seconds=silent_for)
            reason = SILENCE_REASON % {"seconds": int(silent_for)}
            with transaction.atomic():
                self.open_gap(since, reason)
                record(
                    "recording.silent",
                    actor=SystemActor(f"recorder {self.holder}"),
                    target=self.camera,
                    reason=reason,
                    details={"since": since, "seconds": int(silent_for)},
                )
            leases.lease_note(camera_id=self.camera.pk, holder=self.holder, last_error=reason)
        logger.error("recorder of %s: %s", self.camera.code, reason)
        return True

    def refuse(self, reason: str) -> None:
        """The source may not be opened again: the open outage says why (audited).

        Without an open outage (the recorder's first connection) the lease alone says it, as
        for any recorder that cannot start.
        """
        if self._gap_id is None:
            return
        close_old_connections()
        text = _("Reconnexion refusée : %(reason)s") % {"reason": reason}
        with transaction.atomic():
            gap = Gap.objects.select_for_update().get(pk=self._gap_id)
            gap.reason = f"{gap.reason} ; {text}"[:300]
            gap.save(update_fields=["reason"])
            record(
                "recording.gap",
                actor=SystemActor(f"recorder {self.holder}"),
                target=self.camera,
                reason=text,
                details={"since": gap.started_at},
            )


def run_recorder(
    camera_id: int,
    holder: str,
    *,
    stop: threading.Event | None = None,
    remux_settings: remux.RemuxSettings | None = None,
    renew_every: float | None = None,
) -> str:
    """Record the camera until stopped, the lease is lost, or the camera is deactivated."""
    if shutting_down.is_set():
        return "worker shutting down"
    if not Camera.objects.filter(pk=camera_id, status=CameraStatus.ACTIVE).exists():
        return "camera not active"
    refusal = recording_authorizations_sync(camera_ids=[camera_id]).get(camera_id)
    if refusal:
        return f"camera not authorized: {refusal}"
    if not leases.lease_acquire(camera_id=camera_id, holder=holder):
        return "held by another recorder"
    camera = Camera.objects.get(pk=camera_id)
    stop = stop or threading.Event()
    renew_every = renew_every or settings.RECORDER_LEASE_SECONDS / 3
    cut = remux_settings or remux.RemuxSettings(
        segment_seconds=settings.RECORDING_SEGMENT_SECONDS,
        backoff_max=settings.RECORDER_RETRY_MAX_SECONDS,
    )
    sink = IndexSink(camera, holder)
    last = (
        RecorderLease.objects.filter(camera=camera)
        .values_list("last_segment_at", flat=True)
        .first()
    )
    if last is not None:
        # Footage stopped at the previous recorder's last segment (stopped, killed, or lost).
        sink.open_gap(last, "enregistreur arrêté ou perdu ; reprise de l'enregistrement")
        sink.footage_end = last
    errors: list[BaseException] = []
    secret = ""

    def source() -> tuple[str, str, str]:
        """Before every (re)connection: the camera's source as registered now, checked against
        the camera networks now (a name may resolve elsewhere since the last connection)."""
        nonlocal secret
        current = _reconnecting(
            lambda: Camera.objects.select_related("device").get(pk=camera.pk),
            "source check",
        )
        reason = sources.refusal(current.stream_url)
        if reason:
            sink.refuse(reason)
            raise sources.SourceRefused(reason)
        # The sealed login (the camera's, or its device's) opens here, for this connection
        # only; the address stays bare.
        username, secret = sources.stream_login(current)
        return current.stream_url, username, secret

    def loop() -> None:
        try:
            remux.record(camera.stream_url, sink, stop=stop, settings=cut, source=source)
        except BaseException as exc:  # reported through the lease, then re-dispatched
            errors.append(exc)
            stop.set()
        finally:
            connections.close_all()  # this thread's own database connection

    with _running_lock:
        _running.add(stop)
    if shutting_down.is_set():
        stop.set()
    # Twice the segment length without a stored segment is an alert, never silence.
    silence = 2 * cut.segment_seconds
    thread = threading.Thread(target=loop, name=f"recorder-{camera.code}", daemon=True)
    thread.start()
    outcome = "stopped"
    refusal = ""
    try:
        while not stop.wait(renew_every):
            try:
                renewed = leases.lease_renew(camera_id=camera_id, holder=holder)
                active = Camera.objects.filter(pk=camera_id, status=CameraStatus.ACTIVE).exists()
                if renewed and active:
                    # No recording without an authorization in force (CSI L252-1): checked at
                    # every renewal, so the recorder stops well within one dispatch cycle.
                    refusal = recording_authorizations_sync(camera_ids=[camera_id]).get(
                        camera_id, ""
                    )
                if renewed:
                    sink.watch_silence(silence)
            except CONNECTION_LOST as exc:
                # The database went away: reconnect at the next round. While it stays away the
                # lease is not renewed, and once it lapses another recorder may take over.
                logger.warning("recorder of %s: database unreachable (%s)", camera.code, exc)
                connection.close()
                continue
            if not renewed:
                outcome = "lease lost"
                break
            if not active:
                outcome = "camera no longer active"
                break
            if refusal:
                outcome = f"camera not authorized: {refusal}"
                break
    finally:
        stop.set()
        # On SIGTERM the process manager kills the worker after its grace period: the open
        # segment is stored first (the recording thread's read returns within a fraction of a
        # second, see remux's interrupt).
        thread.join(timeout=60)
        with _running_lock:
            _running.discard(stop)
        if shutting_down.is_set() and outcome == "stopped":
            outcome = "worker shutting down"
        close_old_connections()
        if errors:
            outcome = f"error: {sources.describe(errors[0], (secret,))}"
            logger.error("recorder of %s failed: %s", camera.code, outcome)
        state = RecorderLease.State.ERROR if errors else RecorderLease.State.STOPPED
        leases.lease_release(
            camera_id=camera_id, holder=holder, state=state, error=outcome if errors else refusal
        )
    logger.info("recorder of %s ended at %s: %s", camera.code, timezone.now(), outcome)
    return outcome
