"""Reads of the recordings: the replay timeline, and the recorders' state for the control room."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.roles import Right
from cameras.models import Camera, CameraStatus
from recordings.models import Gap, RecorderLease, Segment

#: Consecutive segments closer than this belong to one recorded period on the timeline.
PERIOD_TOLERANCE = timedelta(seconds=2)

# --- Replay -----------------------------------------------------------------------------------


def replay_cameras(user: Any) -> QuerySet[Camera]:
    """The cameras the person's valid habilitations cover for replay."""
    scope = access.scope(user, Right.REPLAY)
    return Camera.objects.filter(scope.as_q()).order_by("code")


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    #: Position and width on the timeline, in percent of the window.
    left: float
    width: float
    label: str = ""


@dataclass
class Timeline:
    camera: Camera
    start: datetime
    end: datetime
    periods: list[Span] = field(default_factory=list)
    gaps: list[Span] = field(default_factory=list)
    hours: list[tuple[float, str]] = field(default_factory=list)

    @property
    def start_ms(self) -> int:
        return round(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return round(self.end.timestamp() * 1000)


def _span(window_start: datetime, window_end: datetime, start: datetime, end: datetime, **kw):
    total = (window_end - window_start).total_seconds()
    start, end = max(start, window_start), min(end, window_end)
    left = (start - window_start).total_seconds() / total * 100
    width = max((end - start).total_seconds() / total * 100, 0.05)
    return Span(start=start, end=end, left=round(left, 3), width=round(width, 3), **kw)


def day_window(day: date) -> tuple[datetime, datetime]:
    """Midnight to midnight, Europe/Paris (23 or 25 hours on the days the clocks change)."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def timeline(camera: Camera, start: datetime, end: datetime) -> Timeline:
    """Recorded periods (stored segments merged when back to back) and gaps over a window."""
    result = Timeline(camera=camera, start=start, end=end)
    rows = (
        Segment.objects.filter(
            camera=camera, state=Segment.State.STORED, started_at__lt=end, ended_at__gt=start
        )
        .order_by("started_at")
        .values_list("started_at", "ended_at")
    )
    merged: list[list[datetime]] = []
    for seg_start, seg_end in rows.iterator():
        if merged and seg_start - merged[-1][1] <= PERIOD_TOLERANCE:
            merged[-1][1] = max(merged[-1][1], seg_end)
        else:
            merged.append([seg_start, seg_end])
    result.periods = [_span(start, end, a, b) for a, b in merged]
    now = timezone.now()
    for gap in Gap.objects.filter(camera=camera, started_at__lt=end).exclude(ended_at__lte=start):
        result.gaps.append(_span(start, end, gap.started_at, gap.ended_at or now, label=gap.reason))
    cursor = timezone.localtime(start)
    total = (end - start).total_seconds()
    while cursor < end:
        left = (cursor - start).total_seconds() / total * 100
        result.hours.append((round(left, 3), cursor.strftime("%H:%M")))
        cursor = timezone.localtime(cursor + timedelta(hours=1))
    return result


# --- Operations -------------------------------------------------------------------------------


@dataclass
class RecorderRow:
    camera: Camera
    state: str
    state_label: str
    last_segment_at: datetime | None
    bitrate: int
    storage_bytes: int
    gap_since: datetime | None
    gap_reason: str
    last_error: str
    alert: str = ""


STATE_LABELS = dict(RecorderLease.State.choices)


def _state(camera: Camera, now: datetime) -> str:
    lease: RecorderLease | None = getattr(camera, "recorder_lease", None)
    if lease is None:
        return RecorderLease.State.STOPPED
    if lease.state == RecorderLease.State.ERROR:
        return lease.state
    if lease.expires_at is None or lease.expires_at < now:
        return RecorderLease.State.STOPPED
    return lease.state


def _alert(row: RecorderRow, now: datetime) -> str:
    """Why an active camera counts as not recording; empty when it records."""
    if row.camera.status != CameraStatus.ACTIVE:
        return ""
    lease = getattr(row.camera, "recorder_lease", None)
    if lease is None or lease.expires_at is None or lease.expires_at < now:
        if row.state == RecorderLease.State.ERROR:
            return _("Enregistreur en erreur : %(error)s") % {"error": row.last_error or "—"}
        return _("Aucun enregistreur ne tient la caméra.")
    silence = timedelta(seconds=2 * settings.RECORDING_SEGMENT_SECONDS)
    if row.last_segment_at is None:
        if lease.acquired_at is not None and now - lease.acquired_at > silence:
            return _("Aucun segment enregistré depuis la prise en charge.")
        return ""
    if now - row.last_segment_at > silence:
        return _("Aucun segment depuis plus de %(s)s secondes.") % {
            "s": int(silence.total_seconds())
        }
    return ""


def _cameras_with_recorder() -> QuerySet[Camera]:
    """Cameras not withdrawn, with their lease, last stored segment's end and open gap."""
    stored = Segment.objects.filter(camera=OuterRef("pk"), state=Segment.State.STORED)
    open_gap = Gap.objects.filter(camera=OuterRef("pk"), ended_at__isnull=True).order_by(
        "-started_at"
    )
    return (
        Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED)
        .select_related("recorder_lease")
        .annotate(
            last_segment_end=Subquery(stored.order_by("-started_at").values("ended_at")[:1]),
            gap_since=Subquery(open_gap.values("started_at")[:1]),
            gap_reason=Subquery(open_gap.values("reason")[:1]),
        )
        .order_by("code")
    )


def _recorder_row(camera: Any, now: datetime, storage_bytes: int = 0) -> RecorderRow:
    """``camera`` as ``_cameras_with_recorder`` annotates it (last segment, open gap)."""
    lease = getattr(camera, "recorder_lease", None)
    state = _state(camera, now)
    recording = state == RecorderLease.State.RECORDING
    row = RecorderRow(
        camera=camera,
        state=state,
        state_label=str(STATE_LABELS[state]),
        last_segment_at=camera.last_segment_end,
        bitrate=lease.bitrate if lease is not None and recording else 0,
        storage_bytes=storage_bytes,
        gap_since=camera.gap_since,
        gap_reason=camera.gap_reason or "",
        last_error=lease.last_error if lease is not None else "",
    )
    row.alert = _alert(row, now)
    return row


def operations_board() -> list[RecorderRow]:
    """Every camera not withdrawn with its recorder's state; cameras not recording first.

    Two queries whatever the number of cameras: the cameras with their lease, last segment
    and open gap as subqueries, and one aggregate of the stored bytes per camera.
    """
    now = timezone.now()
    sizes = dict(
        Segment.objects.filter(state=Segment.State.STORED)
        .values("camera")
        .annotate(total=Sum("size"))
        .values_list("camera", "total")
    )
    rows = [
        _recorder_row(camera, now, sizes.get(camera.pk, 0) or 0)
        for camera in _cameras_with_recorder()
    ]
    rows.sort(key=lambda r: (not r.alert, r.camera.code))
    return rows


def recording_alerts(camera_ids: Iterable[int]) -> dict[int, str]:
    """The recorders page's alert for each of these cameras ("" while it records), one query.

    The live wall shows it on the camera's tiles (``csu.apps`` wires it into
    ``cameras.recording_state``).
    """
    now = timezone.now()
    cameras = _cameras_with_recorder().filter(pk__in=list(camera_ids))
    return {camera.pk: _recorder_row(camera, now).alert for camera in cameras}
