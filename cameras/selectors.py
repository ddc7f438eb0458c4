"""Reads of the camera register, with the flags that must show wherever a camera appears."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts import access
from accounts.roles import Right
from audit.models import AuditEvent
from cameras.models import (
    EXPIRY_ALERT_DAYS,
    HEALTH_SEVERITY,
    Authorization,
    AuthorizationAlert,
    Camera,
    CameraStatus,
    Device,
    DeviceHealth,
    HealthStatus,
    PrivacyMask,
)
from csu.lib import fieldlog, labels

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Flags(TypedDict):
    """What :func:`_with_flags` adds to each camera (read by :func:`camera_flags`)."""

    mask_version: int | None
    mask_validated_at: datetime | None
    authorization_in_force: int
    severity: int


def _with_flags(
    cameras: QuerySet[Camera], today: date
) -> QuerySet[WithAnnotations[Camera, _Flags]]:
    latest = PrivacyMask.objects.filter(camera=OuterRef("pk")).order_by("-version")
    return cameras.select_related("authorization", "device", "commune").annotate(
        mask_version=Subquery(latest.values("version")[:1]),
        mask_validated_at=Subquery(latest.values("validated_at")[:1]),
        authorization_in_force=Case(
            When(
                authorization__issued_on__lte=today,
                authorization__expires_on__gte=today,
                then=Value(1),
            ),
            default=Value(0),
            output_field=IntegerField(),
        ),
        severity=Case(
            *[When(health_status=s, then=Value(n)) for s, n in HEALTH_SEVERITY.items()],
            default=Value(0),
            output_field=IntegerField(),
        ),
    )


def camera_list() -> QuerySet[Camera]:
    """The register; each camera carries its warning flags (see camera_flags).

    cameras.filters.CameraFilter narrows it for the list page and the API.
    """
    return _with_flags(Camera.objects.all(), timezone.localdate()).order_by("code")


def camera_get(*, code: str) -> Camera:
    return _with_flags(Camera.objects.all(), timezone.localdate()).get(code=code)


def camera_flags(camera: Camera) -> list[str]:
    """Codes of the warnings: 'authorization' (none in force), 'masks' (never validated)."""
    flags = []
    in_force = getattr(camera, "authorization_in_force", None)
    if in_force is None:
        in_force = camera.authorization_valid
    if not in_force:
        flags.append("authorization")
    if hasattr(camera, "mask_validated_at"):
        unvalidated = camera.mask_validated_at is None
    else:
        mask = camera.current_mask()
        unvalidated = mask is None or mask.validated_at is None
    if unvalidated:
        flags.append("masks")
    return flags


def sectors() -> list[str]:
    return list(Camera.objects.order_by("sector").values_list("sector", flat=True).distinct())


def health_board() -> QuerySet[Camera]:
    """Cameras in service, most severe state first, then the longest unchecked."""
    return (
        _with_flags(Camera.objects.filter(status=CameraStatus.ACTIVE), timezone.localdate())
        .prefetch_related("outages")
        .order_by("-severity", "health_checked_at", "code")
    )


def health_rows(cameras: list[Camera]) -> list[dict[str, Any]]:
    """The board's rows: one per camera, except the sensors of a box that answers no more,
    shown together under one row for their device (one alert, not one per sensor).

    ``cameras`` comes from :func:`health_board`, in its order; a device's row takes the place
    of its first sensor.
    """
    down = {
        device.pk: device
        for device in Device.objects.filter(
            health_status=DeviceHealth.UNREACHABLE,
            pk__in={c.device_id for c in cameras if c.device_id},
        )
    }
    rows: list[dict[str, Any]] = []
    groups: dict[int, dict[str, Any]] = {}
    for camera in cameras:
        if camera.device_id in down and camera.health_status == HealthStatus.UNREACHABLE:
            group = groups.get(camera.device_id)
            if group is None:
                group = {"device": down[camera.device_id], "sensors": []}
                groups[camera.device_id] = group
                rows.append(group)
            group["sensors"].append(camera)
        else:
            rows.append({"camera": camera})
    for group in groups.values():
        starts = [s.down_since for s in group["sensors"] if getattr(s, "down_since", None)]
        group["down_since"] = min(starts) if starts else None
    return rows


def device_list() -> QuerySet[Device]:
    return (
        Device.objects.select_related("authorization")
        .annotate(sensor_count=Count("sensors"))
        .order_by("code")
    )


def device_sensors(device: Device) -> QuerySet[Camera]:
    return _with_flags(device.sensors.all(), timezone.localdate()).order_by("code")


def open_outage_started(camera: Camera):
    for outage in camera.outages.all():
        if outage.ended_at is None:
            return outage.started_at
    return None


def authorization_list() -> QuerySet[Authorization]:
    """Authorizations, soonest expiry first (cameras.filters.AuthorizationFilter narrows them)."""
    return Authorization.objects.annotate(camera_count=Count("cameras")).order_by(
        "expires_on", "number"
    )


def authorization_alerts(today: date | None = None) -> QuerySet[Authorization]:
    """Authorizations expired or expiring within 180 days, soonest first."""
    today = today or timezone.localdate()
    return (
        Authorization.objects.filter(expires_on__lte=today + timedelta(days=EXPIRY_ALERT_DAYS[0]))
        .annotate(camera_count=Count("cameras"))
        .order_by("expires_on")
    )


def may_view_live(user: Any, camera: Camera) -> bool:
    return access.may(user, Right.LIVE, camera)


#: Fields of a camera that its history leaves out: secrets, pictures, and what the system
#: writes on its own (timestamps, the health check's figures).
HISTORY_HIDDEN = (
    "stream_credentials",
    "reference_image",
    "created_at",
    "updated_at",
    "health_detail",
    "health_checked_at",
    "reference_set_at",
)


def camera_history(camera: Camera) -> list[dict[str, Any]]:
    """Field changes (auditlog) and actions (audit trail) on the camera, newest first."""
    entries: list[dict[str, Any]] = []
    content_type = ContentType.objects.get_for_model(Camera)
    for entry in LogEntry.objects.filter(
        content_type=content_type, object_pk=str(camera.pk)
    ).select_related("actor"):
        entries.append(
            {
                "at": entry.timestamp,
                "who": str(entry.actor) if entry.actor else "",
                "what": fieldlog.action_label(entry),
                "changes": fieldlog.readable_changes(
                    Camera,
                    entry.changes_dict or {},
                    hidden=HISTORY_HIDDEN,
                ),
            }
        )
    events = AuditEvent.objects.filter(
        target_type="cameras.camera", target_id=str(camera.pk)
    ).exclude(action__in=["camera.created", "camera.updated", "camera.snapshot_viewed"])
    for event in events.order_by("-seq")[:200]:
        entries.append(
            {
                "at": event.occurred_at,
                "who": event.actor_label,
                "what": event.action_label,
                "changes": labels.detail_items(event.details),
            }
        )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries


# --- Expiry alerts and stops for want of an authorization ----------------------------------------

#: The audit actions of a camera stopped, then resumed, for want of an authorization in force.
RECORDING_STOPPED = "camera.recording_stopped_unauthorized"
RECORDING_RESUMED = "camera.recording_resumed"


def authorization_alert_list() -> QuerySet[AuthorizationAlert]:
    """Every expiry alert, newest first, with its authorization's cameras (codes, in order)."""
    return AuthorizationAlert.objects.select_related(
        "authorization", "acknowledged_by"
    ).prefetch_related(
        Prefetch(
            "authorization__cameras",
            queryset=Camera.objects.only("id", "code", "authorization_id").order_by("code"),
        )
    )


def authorization_alerts_open() -> QuerySet[AuthorizationAlert]:
    """The alerts neither acknowledged nor superseded: the supervisors' tasks."""
    return (
        authorization_alert_list()
        .filter(acknowledged_at__isnull=True, superseded_at__isnull=True)
        .order_by("expires_on", "threshold", "pk")
    )


def authorization_alerts_open_count() -> int:
    return AuthorizationAlert.objects.filter(
        acknowledged_at__isnull=True, superseded_at__isnull=True
    ).count()


def unauthorized_cameras() -> QuerySet[Camera]:
    """Cameras stopped for want of an authorization in force, the longest stopped first."""
    return (
        Camera.objects.filter(unauthorized_since__isnull=False)
        .select_related("authorization")
        .order_by("unauthorized_since", "code")
    )


def recording_stop_events(
    start: datetime | None = None, end: datetime | None = None
) -> QuerySet[AuditEvent]:
    """The stops and resumptions for want of an authorization, in [start, end), in order."""
    events = AuditEvent.objects.filter(action__in=(RECORDING_STOPPED, RECORDING_RESUMED))
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    return events.order_by("seq")


def _moment(value: Any) -> datetime | None:
    """A moment the audit trail stored in an event's details (JSON: ISO-8601 text)."""
    if isinstance(value, datetime):
        return value
    return parse_datetime(value) if isinstance(value, str) and value else None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    return parse_date(value) if isinstance(value, str) and value else None


def recording_stop_rows(events: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    """The stops and resumptions as people read them: when, which, the camera, the reason,
    since when the camera was stopped, and the authorization concerned with its dates."""
    rows = []
    for event in events:
        details = event.details or {}
        stopped = event.action == RECORDING_STOPPED
        since = _moment(details.get("since" if stopped else "stopped_since"))
        rows.append(
            {
                "at": event.occurred_at,
                "stopped": stopped,
                "camera": event.target_label,
                "reason": event.reason,
                "since": since or (event.occurred_at if stopped else None),
                "authorization": details.get("authorization") or "",
                "issued_on": _day(details.get("issued_on")),
                "expires_on": _day(details.get("expires_on")),
            }
        )
    return rows
