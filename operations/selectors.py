"""Reads of the room's operations: shifts on duty, signalements, the dashboard."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cameras import selectors as camera_selectors
from cameras.models import HEALTH_SEVERITY, Camera, CameraStatus, HealthStatus
from cameras.roles import AUTHORIZATION_ALERT_HANDLERS
from evidence import selectors as evidence_selectors
from evidence.models import GRANTED, Export, Requisition, Status
from operations.models import (
    ALARM_OPEN,
    Alarm,
    AlarmPriority,
    AlarmState,
    RotaSlot,
    Shift,
    Signalement,
)
from operations.roles import ALARM_HISTORY_READERS
from recordings import clock
from recordings.models import RecorderLease

#: Rows each dashboard list shows at most (the counts are always exact).
DASHBOARD_ROWS = 30

_NUMBER = re.compile(r"^\s*(\d{4})-(\d{1,6})\s*$")
_REFERENCE = re.compile(r"^\s*(?:REQ-)?(\d{4})-(\d{1,9})\s*$", re.IGNORECASE)


def parse_number(number: str) -> tuple[int, int] | None:
    """(year, seq) of a signalement number such as 2026-000123, None when malformed."""
    match = _NUMBER.match(number or "")
    return (int(match[1]), int(match[2])) if match else None


def on_duty() -> QuerySet[Shift]:
    return (
        Shift.objects.filter(ended_at__isnull=True)
        .select_related("operator")
        .order_by("started_at")
    )


def open_shift(user: Any) -> Shift | None:
    return Shift.objects.filter(operator=user, ended_at__isnull=True).first()


def rota_between(start: datetime, end: datetime) -> QuerySet[RotaSlot]:
    return (
        RotaSlot.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .select_related("operator")
        .order_by("starts_at", "operator__last_name")
    )


def signalement_list() -> QuerySet[Signalement]:
    """Signalements, newest first (operations.filters.SignalementFilter narrows them)."""
    return Signalement.objects.select_related("author").order_by("-occurred_at", "-seq")


def signalement_get(*, number: str) -> Signalement:
    key = parse_number(number)
    if key is None:
        raise Signalement.DoesNotExist
    return (
        Signalement.objects.select_related("author")
        .prefetch_related("cameras", "alerts", "notes__author")
        .get(year=key[0], seq=key[1])
    )


def signalement_requisitions(signalement: Signalement, user: Any) -> QuerySet[Requisition]:
    """The requisitions linked to ``signalement`` that ``user`` may see (evidence's scope)."""
    return (
        evidence_selectors.restrict(user)
        .filter(signalement_links__signalement=signalement)
        .order_by("submitted_at", "pk")
    )


def requisition_signalements(requisition: Requisition) -> QuerySet[Signalement]:
    return Signalement.objects.filter(requisition_links__requisition=requisition).order_by(
        "year", "seq"
    )


def requisition_by_reference(user: Any, reference: str) -> Requisition:
    """The requisition REQ-2026-00012 (or 2026-12) if ``user`` may see it; DoesNotExist else."""
    match = _REFERENCE.match(reference or "")
    if not match:
        raise Requisition.DoesNotExist
    requisition = evidence_selectors.restrict(user).get(pk=int(match[2]))
    if requisition.submitted_at.year != int(match[1]):
        raise Requisition.DoesNotExist
    return requisition


#: Requisitions the room must act on: granted (extract them), extraction ready (check, release).
CSU_TO_EXPORT = GRANTED
CSU_TO_RELEASE = frozenset({Status.READY})


def _awaiting_csu() -> QuerySet[Requisition]:
    return Requisition.objects.filter(
        Q(status__in=CSU_TO_EXPORT)
        | Q(
            status__in=CSU_TO_RELEASE,
            exports__state=Export.State.READY,
            exports__released_at__isnull=True,
        )
    )


def csu_waiting(user: Any, limit: int = DASHBOARD_ROWS) -> dict[str, Any]:
    """Requisitions waiting for the room, counted for every member of the staff, listed (oldest
    wait first) only for those who may see them. Two queries (one when nothing may be listed)."""
    counts = _awaiting_csu().aggregate(
        to_export=Count("pk", filter=Q(status__in=CSU_TO_EXPORT), distinct=True),
        to_release=Count("pk", filter=Q(status__in=CSU_TO_RELEASE), distinct=True),
    )
    rows: list[Requisition] = []
    visible = evidence_selectors.restrict(user)
    if visible.query.is_empty():
        return {**counts, "rows": rows, "visible": False}
    ready_since = Export.objects.filter(
        requisition=OuterRef("pk"), state=Export.State.READY, released_at__isnull=True
    ).values("finished_at")[:1]
    rows = list(
        visible.filter(pk__in=_awaiting_csu().values("pk"))
        .annotate(
            waiting_since=Coalesce(
                Subquery(ready_since, output_field=DateTimeField()), "decided_at"
            )
        )
        .order_by("waiting_since", "pk")[:limit]
    )
    return {**counts, "rows": rows, "visible": True}


def _silent_since(now: datetime) -> datetime:
    """A recorder that stored no segment since then (twice the segment length) is silent."""
    return now - timedelta(seconds=2 * settings.RECORDING_SEGMENT_SECONDS)


def recording_alerts(now: datetime) -> QuerySet[Camera]:
    """Cameras in service that are not being recorded: no lease, lapsed, not recording, or a
    recorder that holds the camera but stored nothing for twice the segment length."""
    since = _silent_since(now)
    return (
        Camera.objects.filter(status=CameraStatus.ACTIVE)
        .filter(
            Q(recorder_lease__isnull=True)
            | Q(recorder_lease__expires_at__isnull=True)
            | Q(recorder_lease__expires_at__lt=now)
            | ~Q(recorder_lease__state=RecorderLease.State.RECORDING)
            | (
                Q(recorder_lease__acquired_at__lt=since)
                & (
                    Q(recorder_lease__last_segment_at__isnull=True)
                    | Q(recorder_lease__last_segment_at__lt=since)
                )
            )
        )
        .select_related("recorder_lease", "authorization")
        .order_by("code")
    )


# --- The dashboard: one reader per part, each part refreshed on its own ------------------------


def dashboard_duty(now: datetime) -> dict[str, Any]:
    """Who is on duty, and the rota of the next twelve hours. Two queries."""
    return {
        "on_duty": list(on_duty()),
        "planned": list(rota_between(now, now + timedelta(hours=12))[:DASHBOARD_ROWS]),
    }


def dashboard_health() -> dict[str, Any]:
    """Cameras in service counted by health state (in the order of the states' codes). One
    query."""
    counts = dict(
        Camera.objects.filter(status=CameraStatus.ACTIVE)
        .values_list("health_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    labels = dict(HealthStatus.choices)
    return {
        "cameras_in_service": sum(counts.values()),
        "health_rows": [(code, labels.get(code, code), n) for code, n in sorted(counts.items())],
    }


def dashboard_failing() -> dict[str, Any]:
    """Cameras in service not in good health, most severe first. One query."""
    severity = Case(
        *[When(health_status=s, then=Value(n)) for s, n in HEALTH_SEVERITY.items()],
        default=Value(0),
        output_field=IntegerField(),
    )
    failing = (
        Camera.objects.filter(status=CameraStatus.ACTIVE)
        .exclude(health_status=HealthStatus.OK)
        .annotate(severity=severity)
        .only("code", "name", "sector", "health_status", "health_checked_at")
        .order_by("-severity", "code")[:DASHBOARD_ROWS]
    )
    return {"failing_cameras": list(failing)}


def dashboard_signalements() -> dict[str, Any]:
    """Open signalements, counted, the latest listed. Two queries."""
    open_signalements = Signalement.objects.filter(closed_at__isnull=True)
    return {
        "open_count": open_signalements.count(),
        "open_signalements": list(
            open_signalements.select_related("author").order_by("-occurred_at")[:DASHBOARD_ROWS]
        ),
    }


def dashboard_recording(now: datetime) -> dict[str, Any]:
    """Cameras in service that are not recorded, counted, and listed as (camera, why) with why a
    ``recording_state`` code; the clock alerts: the server's (its latest check, when it alerts)
    and the cameras' whose clock is off. Four queries."""
    alerts = recording_alerts(now)
    rows = [(camera, recording_state(camera, now)) for camera in alerts[:DASHBOARD_ROWS]]
    server_clock = clock.current_server_alert()
    return {
        "recording_alert_count": alerts.count(),
        "recording_alerts": rows,
        "server_clock_alert": server_clock,
        "server_clock_text": clock.describe(server_clock) if server_clock else "",
        "camera_clock_alerts": list(
            Camera.objects.filter(status=CameraStatus.ACTIVE, clock_alert_since__isnull=False)
            .only("code", "name", "clock_offset_ms", "clock_alert_since")
            .order_by("code")[:DASHBOARD_ROWS]
        ),
    }


def dashboard_authorization_alerts(user: Any) -> dict[str, Any]:
    """For the supervisors, how many expiry alerts of the authorizations wait to be
    acknowledged (None for the others). One query, none for operators."""
    if not user.has_role(*AUTHORIZATION_ALERT_HANDLERS):
        return {"authorization_alerts_open": None}
    return {"authorization_alerts_open": camera_selectors.authorization_alerts_open_count()}


def dashboard_requisitions(user: Any) -> dict[str, Any]:
    """Requisitions waiting for the room (see ``csu_waiting``). Two queries, one for operators."""
    waiting = csu_waiting(user)
    return {
        "requisitions_to_export": waiting["to_export"],
        "requisitions_to_release": waiting["to_release"],
        "requisitions_waiting": waiting["rows"],
        "requisitions_visible": waiting["visible"],
    }


def recording_state(camera: Camera, now: datetime) -> str:
    """Why a camera is on the recording alert list, as a lease state code ("lapsed" included),
    or "unauthorized" when it may not be recorded for want of an authorization in force (the
    camera's ``authorization_refusal`` says why)."""
    if camera.authorization_refusal(timezone.localdate(now)):
        return "unauthorized"
    lease = getattr(camera, "recorder_lease", None)
    if lease is None or lease.expires_at is None:
        return "none" if lease is None else lease.state
    if lease.expires_at < now:
        return "lapsed"
    since = _silent_since(now)
    if (
        lease.state == RecorderLease.State.RECORDING
        and lease.acquired_at is not None
        and lease.acquired_at < since
        and (lease.last_segment_at is None or lease.last_segment_at < since)
    ):
        return "silent"
    return lease.state


# --- Alarms -------------------------------------------------------------------------------------


def alarms_for(user: Any) -> QuerySet[Alarm]:
    """The alarms ``user`` may read: the open ones for the room's staff, every one (the
    history) for the supervisors. Newest first (operations.filters.AlarmFilter narrows them)."""
    alarms = Alarm.objects.select_related("camera", "acknowledged_by", "closed_by").order_by(
        "-last_seen_at", "-pk"
    )
    if user.has_role(*ALARM_HISTORY_READERS):
        return alarms
    return alarms.filter(state__in=ALARM_OPEN)


def alarm_queue() -> QuerySet[Alarm]:
    """The open alarms, new before acknowledged, most urgent first, latest seen first."""
    return (
        Alarm.objects.filter(state__in=ALARM_OPEN)
        .select_related("camera", "acknowledged_by")
        .annotate(unacknowledged=Case(When(state=AlarmState.NEW, then=Value(1)), default=Value(0)))
        .order_by("-unacknowledged", "-priority", "-last_seen_at", "-pk")
    )


#: Open alarms the queue's own page lists at most (the dashboard lists DASHBOARD_ROWS).
ALARM_QUEUE_ROWS = 300


def dashboard_alarms(limit: int = DASHBOARD_ROWS) -> dict[str, Any]:
    """The alarm queue at the top of the dashboard: the open alarms counted (new, urgent new)
    and listed. Two queries."""
    counts = Alarm.objects.filter(state__in=ALARM_OPEN).aggregate(
        open=Count("pk"),
        new=Count("pk", filter=Q(state=AlarmState.NEW)),
        urgent_new=Count("pk", filter=Q(state=AlarmState.NEW, priority=AlarmPriority.URGENT)),
    )
    return {
        "alarms_open": counts["open"],
        "alarms_new": counts["new"],
        "alarms_urgent_new": counts["urgent_new"],
        "alarms": list(alarm_queue()[:limit]),
    }
