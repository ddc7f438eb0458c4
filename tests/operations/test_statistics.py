"""A generated year of activity: every statistic against a brute-force or direct count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from statistics import median

import pytest
from django.utils import timezone

from cameras.models import CameraOutage
from evidence.models import Requisition, Status
from operations.demo import generate_year
from operations.models import Category, Shift, Signalement
from operations.stats import Period, merge, statistics

pytestmark = pytest.mark.django_db

YEAR = 2025


def _month_starts(tz) -> list[datetime]:
    """Local month starts, in UTC so that differences count real minutes across DST."""
    starts = [datetime(YEAR, m, 1, tzinfo=tz) for m in range(1, 13)]
    return [d.astimezone(UTC) for d in [*starts, datetime(YEAR + 1, 1, 1, tzinfo=tz)]]


def _minute_index(moment: datetime, origin: datetime) -> int:
    return int((moment - origin).total_seconds()) // 60


@pytest.fixture
def year():
    return generate_year(YEAR, operators=8, signalements=7_800, cameras=12, requisitions=260)


def test_a_year_of_activity_matches_direct_counts(year):
    tz = timezone.get_current_timezone()
    bounds = _month_starts(tz)
    origin = bounds[0]
    minutes = _minute_index(bounds[-1], origin)
    figures = statistics(Period(date(YEAR, 1, 1), date(YEAR, 12, 31)))

    # Active hours: mark every minute with somebody on duty, month by month.
    shifts = list(Shift.objects.values_list("started_at", "ended_at"))
    assert len(shifts) == year.shifts > 8 * 52
    on_duty = bytearray(minutes)
    overlaps = 0
    for start, end in shifts:
        a = max(0, _minute_index(start, origin))
        b = min(minutes, _minute_index(end, origin))
        overlaps += sum(on_duty[a:b])
        on_duty[a:b] = b"\x01" * (b - a)
    assert overlaps > 1000, "the generated shifts must overlap"
    for month in range(12):
        a = _minute_index(bounds[month], origin)
        b = _minute_index(bounds[month + 1], origin)
        expected = sum(on_duty[a:b]) / 60
        key = f"{YEAR}-{month + 1:02d}"
        assert figures["active_hours"]["by_month"][key] == pytest.approx(expected, abs=0.01), key
    assert figures["active_hours"]["total"] == pytest.approx(sum(on_duty) / 60, abs=0.1)

    # Signalements by month and category: one direct count per cell.
    assert figures["signalements"]["total"] == Signalement.objects.count() == 7_800
    for month in range(12):
        for category in Category.values:
            direct = Signalement.objects.filter(
                occurred_at__gte=bounds[month],
                occurred_at__lt=bounds[month + 1],
                category=category,
            ).count()
            key = f"{YEAR}-{month + 1:02d}"
            assert figures["signalements"]["by_month"][key][category] == direct, (key, category)
    for category in Category.values:
        assert (
            figures["signalements"]["by_category"][category]
            == Signalement.objects.filter(category=category).count()
        )

    # Requisitions: one direct count per month and figure, the median by the standard library.
    assert Requisition.objects.count() == year.requisitions == 260
    requisitions = figures["requisitions"]
    all_delays = []
    for month in range(12):
        start, end = bounds[month], bounds[month + 1]
        received = Requisition.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
        handed_over = Requisition.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)
        direct = {
            "received": received.count(),
            "handed_over": handed_over.count(),
            "refused": Requisition.objects.filter(
                status=Status.REJECTED, decided_at__gte=start, decided_at__lt=end
            ).count(),
            # Nothing could be frozen, and footage had been destroyed already.
            "too_late": received.exclude(windows__hold__isnull=False)
            .filter(windows__destroyed_at__isnull=False)
            .distinct()
            .count(),
        }
        row = requisitions["by_month"][f"{YEAR}-{month + 1:02d}"]
        assert {k: row[k] for k in direct} == direct, month + 1
        delays = [
            (h - s).total_seconds() / 3600
            for s, h in handed_over.values_list("submitted_at", "handed_over_at")
        ]
        all_delays += delays
        expected = round(median(delays), 2) if delays else None
        assert row["median_hours_to_handover"] == expected, month + 1
    totals = requisitions["totals"]
    assert totals["received"] == 260
    in_year = {"__gte": bounds[0], "__lt": bounds[-1]}
    assert (
        totals["handed_over"]
        == Requisition.objects.filter(
            **{f"handed_over_at{k}": v for k, v in in_year.items()}
        ).count()
    )
    assert (
        totals["refused"]
        == Requisition.objects.filter(
            status=Status.REJECTED, **{f"decided_at{k}": v for k, v in in_year.items()}
        ).count()
        > 0
    )
    too_late = (
        Requisition.objects.exclude(windows__hold__isnull=False)
        .filter(windows__destroyed_at__isnull=False)
        .distinct()
        .count()
    )
    assert totals["too_late"] == too_late > 0
    partly_late = (
        Requisition.objects.filter(windows__destroyed_at__isnull=False)
        .filter(windows__hold__isnull=False)
        .distinct()
        .count()
    )
    assert partly_late > 0, "a partly late requisition is not too late"
    assert requisitions["median_hours_to_handover"] == pytest.approx(median(all_delays), abs=0.01)

    # Camera availability: minutes without any outage, per camera and per month.
    availability = figures["camera_availability"]
    up_by_month = [0] * 12
    total_up = 0
    for camera, row in zip(year.cameras, availability["cameras"], strict=True):
        assert row["code"] == camera.code
        down = bytearray(minutes)
        for start, end in CameraOutage.objects.filter(camera=camera).values_list(
            "started_at", "ended_at"
        ):
            a, b = _minute_index(start, origin), min(minutes, _minute_index(end, origin))
            down[a:b] = b"\x01" * (b - a)
        up = minutes - sum(down)
        total_up += up
        assert row["availability"] == pytest.approx(up / minutes, abs=1e-5)
        assert row["hours_down"] == pytest.approx(sum(down) / 60, abs=0.01)
        for month in range(12):
            a = _minute_index(bounds[month], origin)
            b = _minute_index(bounds[month + 1], origin)
            up_by_month[month] += (b - a) - sum(down[a:b])
    assert availability["overall"] == pytest.approx(
        total_up / (minutes * len(year.cameras)), abs=1e-5
    )
    for month in range(12):
        a = _minute_index(bounds[month], origin)
        b = _minute_index(bounds[month + 1], origin)
        assert availability["by_month"][f"{YEAR}-{month + 1:02d}"] == pytest.approx(
            up_by_month[month] / ((b - a) * len(year.cameras)), abs=1e-5
        )


def test_a_period_inside_a_month_counts_only_its_days(year):
    figures = statistics(Period(date(YEAR, 3, 10), date(YEAR, 3, 20)))
    tz = timezone.get_current_timezone()
    start, end = datetime(YEAR, 3, 10, tzinfo=tz), datetime(YEAR, 3, 21, tzinfo=tz)
    assert figures["signalements"]["total"] == (
        Signalement.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()
    )
    assert list(figures["active_hours"]["by_month"]) == [f"{YEAR}-03"]
    assert 0 < figures["active_hours"]["total"] <= 11 * 24


def test_overlapping_shifts_count_once():
    t = datetime(2025, 5, 1, 8, tzinfo=timezone.get_current_timezone())
    h = timedelta(hours=1)
    union = merge(
        [(t, t + 3 * h), (t + h, t + 2 * h), (t + 2 * h, t + 5 * h), (t + 6 * h, t + 7 * h)]
    )
    assert union == [(t, t + 5 * h), (t + 6 * h, t + 7 * h)]


def test_an_open_shift_counts_until_now(operator):
    now = timezone.now()
    Shift.objects.create(operator=operator, started_at=now - timedelta(hours=2))
    today = timezone.localdate()
    figures = statistics(Period(today - timedelta(days=1), today), now=now)
    assert figures["active_hours"]["total"] == pytest.approx(2, abs=0.01)
