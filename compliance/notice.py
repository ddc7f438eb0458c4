"""The public information notice (the second level of the signs), built from the register.

What the page says of the system comes from the prefectoral authorizations in force and the
cameras they cover, read when the page is asked: a change of an authorization or of a camera's
retention changes the page at once. The rest (controller, DPO, CNIL, commission départementale)
comes from ``settings.COMPLIANCE_NOTICE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Max, Min, Q
from django.utils.translation import gettext as _

from cameras.models import Authorization, CameraStatus
from compliance.schedule import days_text


@dataclass(frozen=True)
class NoticeAuthorization:
    number: str
    issued_on: date
    expires_on: date
    perimeter: str
    purposes: list[str]
    camera_count: int
    #: The retention of its cameras in words: one period, or the range among them.
    retention: str
    retention_min: int
    retention_max: int


def _retention_text(low: int, high: int) -> str:
    if low == high:
        return days_text(high)
    return _("de %(low)s à %(high)s selon les caméras") % {
        "low": days_text(low),
        "high": days_text(high),
    }


def authorizations_in_force(day: date) -> list[NoticeAuthorization]:
    """The authorizations valid on ``day`` that cover at least one camera in service, each with
    its purposes, perimeter and its cameras' retention (not the ceiling the arrêté allows: what
    the purge applies)."""
    in_service = ~Q(cameras__status=CameraStatus.DECOMMISSIONED)
    rows = (
        Authorization.objects.filter(issued_on__lte=day, expires_on__gte=day)
        .annotate(
            camera_count=Count("cameras", filter=in_service),
            retention_min=Min("cameras__retention_days", filter=in_service),
            retention_max=Max("cameras__retention_days", filter=in_service),
        )
        .filter(camera_count__gt=0)
        .order_by("issued_on", "number")
    )
    return [
        NoticeAuthorization(
            number=row.number,
            issued_on=row.issued_on,
            expires_on=row.expires_on,
            perimeter=row.perimeter.strip(),
            purposes=row.purpose_labels,
            camera_count=row.camera_count,
            retention=_retention_text(row.retention_min, row.retention_max),
            retention_min=row.retention_min,
            retention_max=row.retention_max,
        )
        for row in rows
    ]
