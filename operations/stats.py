"""Activity statistics over any period: active hours, signalements, requisitions, cameras.

Each figure comes from a fixed number of queries whatever the volume: rows are fetched once
per table and folded in Python (shift intervals, outages) or grouped by the database
(signalements).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any, TypeGuard

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from cameras.models import Camera, CameraOutage, CameraStatus
from evidence.models import Requisition, Status
from operations.models import Category, Shift, Signalement

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Period:
    """Whole days from ``first`` to ``last`` included, in Europe/Paris."""

    first: date
    last: date

    # In UTC: Python subtracts two datetimes of the same zone by wall clock, which would put
    # the daylight-saving hours in the wrong month.
    @property
    def start(self) -> datetime:
        return _utc_midnight(self.first)

    @property
    def end(self) -> datetime:
        return _utc_midnight(self.last + timedelta(days=1))

    def months(self) -> list[tuple[int, int]]:
        months = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def until(self, today: date) -> Period:
        """The period cut at ``today``: months after it are not counted (nor drawn)."""
        return Period(self.first, min(self.last, today))

    def month_bounds(self, year: int, month: int) -> Interval:
        """The part of the month inside the period (aware datetimes)."""
        first = max(self.first, date(year, month, 1))
        next_month = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        last = min(self.last, next_month - timedelta(days=1))
        return Period(first, last).start, Period(first, last).end


def _utc_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min)).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of intervals as sorted, disjoint intervals (touching ones are joined)."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def overlap_seconds(intervals: list[Interval], start: datetime, end: datetime) -> float:
    """Seconds of disjoint ``intervals`` falling inside [start, end)."""
    total = 0.0
    for s, e in intervals:
        if e <= start:
            continue
        if s >= end:
            break
        total += (min(e, end) - max(s, start)).total_seconds()
    return total


def _month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def active_hours(period: Period, now: datetime | None = None) -> dict[str, float]:
    """Hours with at least one person on duty, per month ("2026-03"), overlaps counted once."""
    now = now or timezone.now()
    start, end = period.start, min(period.end, now)
    rows = Shift.objects.filter(started_at__lt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start)
    )
    union = merge(
        (max(s, start), min(e or now, end)) for s, e in rows.values_list("started_at", "ended_at")
    )
    result = {}
    for year, month in period.months():
        m_start, m_end = period.month_bounds(year, month)
        result[_month_key(year, month)] = overlap_seconds(union, m_start, min(m_end, end)) / 3600
    return result


def signalements_by_category(period: Period) -> dict[str, dict[str, int]]:
    """Signalements per month ("2026-03") and category, by the time the facts occurred."""
    table = {_month_key(y, m): dict.fromkeys(Category.values, 0) for y, m in period.months()}
    rows = (
        Signalement.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end)
        .annotate(month=TruncMonth("occurred_at", tzinfo=timezone.get_current_timezone()))
        .values("month", "category")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime):
            month = timezone.localtime(month) if timezone.is_aware(month) else month
        table[_month_key(month.year, month.month)][row["category"]] = row["n"]
    return table


#: The requisition counts, in the order of the tables and the chart.
REQUISITION_FIGURES = ("received", "handed_over", "refused", "too_late")


def _in(moment: datetime | None, start: datetime, end: datetime) -> TypeGuard[datetime]:
    return moment is not None and start <= moment < end


def _local_month(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return _month_key(local.year, local.month)


def requisitions(period: Period) -> dict[str, Any]:
    """Requisitions per month and over the period, in one query.

    received: submitted in the month; handed_over: downloaded by the officer in the month;
    refused: rejected by the magistrate in the month; too_late: received in the month with no
    window that could be frozen, the footage of at least one having been destroyed already.
    The median time to handover is in hours, from submission to download, over the handovers
    of the month (or of the period).
    """
    start, end = period.start, period.end
    rows = (
        Requisition.objects.filter(
            Q(submitted_at__gte=start, submitted_at__lt=end)
            | Q(handed_over_at__gte=start, handed_over_at__lt=end)
            | Q(status=Status.REJECTED, decided_at__gte=start, decided_at__lt=end)
        )
        .annotate(
            held=Count("windows", filter=Q(windows__hold__isnull=False)),
            destroyed=Count("windows", filter=Q(windows__destroyed_at__isnull=False)),
        )
        .values_list("submitted_at", "decided_at", "status", "handed_over_at", "held", "destroyed")
        .order_by()
    )
    months = [_month_key(y, m) for y, m in period.months()]
    table = {key: dict.fromkeys(REQUISITION_FIGURES, 0) for key in months}
    delays: dict[str, list[float]] = {key: [] for key in months}
    for submitted, decided, state, handed_over, held, destroyed in rows:
        if _in(submitted, start, end):
            month = table[_local_month(submitted)]
            month["received"] += 1
            if held == 0 and destroyed > 0:
                month["too_late"] += 1
        if state == Status.REJECTED and _in(decided, start, end):
            table[_local_month(decided)]["refused"] += 1
        if _in(handed_over, start, end):
            key = _local_month(handed_over)
            table[key]["handed_over"] += 1
            delays[key].append((handed_over - submitted).total_seconds() / 3600)
    everything = [d for key in months for d in delays[key]]
    return {
        "totals": {name: sum(table[k][name] for k in months) for name in REQUISITION_FIGURES},
        "median_hours_to_handover": _median(everything),
        "by_month": {
            key: {**table[key], "median_hours_to_handover": _median(delays[key])} for key in months
        },
    }


def _median(values: list[float]) -> float | None:
    return round(median(values), 2) if values else None


def camera_availability(period: Period, now: datetime | None = None) -> dict[str, Any]:
    """Share of time each camera in the register worked, per month and over the period.

    A camera counts from the start of its monitoring and not after now: its commissioning day
    when known, otherwise the earlier of its entry in the register and its first recorded
    outage (a health check found it down, so it was watched). Cameras removed from the register
    (decommissioned) are left out. Overlapping outages count once.
    """
    now = now or timezone.now()
    end = min(period.end, now)
    cameras = list(
        Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED)
        .annotate(first_outage=Min("outages__started_at"))
        .order_by("code")
        .values_list("pk", "code", "name", "commissioned_on", "created_at", "first_outage")
    )
    outages: dict[int, list[Interval]] = defaultdict(list)
    rows = CameraOutage.objects.filter(started_at__lt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=period.start)
    )
    for camera_id, s, e in rows.values_list("camera_id", "started_at", "ended_at"):
        outages[camera_id].append((s, e or now))
    months = period.months()
    month_up = dict.fromkeys((_month_key(y, m) for y, m in months), 0.0)
    month_total = dict.fromkeys(month_up, 0.0)
    per_camera = []
    for pk, code, name, commissioned_on, created_at, first_outage in cameras:
        since = max(period.start, monitored_since(commissioned_on, created_at, first_outage))
        down = merge(outages.get(pk, []))
        up_total = span_total = 0.0
        for year, month in months:
            m_start, m_end = period.month_bounds(year, month)
            m_start, m_end = max(m_start, since), min(m_end, end)
            if m_end <= m_start:
                continue
            span = (m_end - m_start).total_seconds()
            up = span - overlap_seconds(down, m_start, m_end)
            key = _month_key(year, month)
            month_up[key] += up
            month_total[key] += span
            up_total += up
            span_total += span
        per_camera.append(
            {
                "code": code,
                "name": name,
                "hours_observed": round(span_total / 3600, 2),
                # Never below zero, not even by a rounding error (« -0,0 h » in print).
                "hours_down": max(0.0, round((span_total - up_total) / 3600, 2)),
                "availability": _ratio(up_total, span_total),
            }
        )
    total_up, total_span = sum(month_up.values()), sum(month_total.values())
    return {
        "overall": _ratio(total_up, total_span),
        "by_month": {key: _ratio(month_up[key], month_total[key]) for key in month_up},
        "cameras": per_camera,
    }


def monitored_since(
    commissioned_on: date | None, created_at: datetime, first_outage: datetime | None
) -> datetime:
    """When a camera's monitoring started (see :func:`camera_availability`)."""
    if commissioned_on:
        return Period(commissioned_on, commissioned_on).start
    return min(created_at, first_outage) if first_outage else created_at


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 5) if whole else None


def statistics(period: Period, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the period, JSON-ready (months as "YYYY-MM", hours as decimals).

    Months after now are left out of every figure: nothing happened in them yet, and a chart
    or a table would show them as empty months.
    """
    now = now or timezone.now()
    asked = period
    period = period.until(timezone.localdate(now))
    hours = active_hours(period, now)
    by_category = signalements_by_category(period)
    category_totals = dict.fromkeys(Category.values, 0)
    for counts in by_category.values():
        for category, n in counts.items():
            category_totals[category] += n
    return {
        "period": {"start": asked.first.isoformat(), "end": asked.last.isoformat()},
        "active_hours": {
            "total": round(sum(hours.values()), 2),
            "by_month": {k: round(v, 2) for k, v in hours.items()},
        },
        "signalements": {
            "total": sum(category_totals.values()),
            "by_category": category_totals,
            "by_month": by_category,
        },
        "requisitions": requisitions(period),
        "camera_availability": camera_availability(period, now),
    }
