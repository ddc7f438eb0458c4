"""What a city publishes: whole-number chart axes, full month names, no month to come, camera
availability from the start of monitoring and table headers never split inside a word."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import matplotlib.pyplot as plt
import pdfplumber
import pytest
from django.utils import timezone, translation
from reportlab.platypus import Paragraph

from cameras.models import Camera, CameraOutage, HealthStatus
from csu.lib import pdf
from operations import reports
from operations.demo import generate_year
from operations.models import Category
from operations.stats import Period, statistics

pytestmark = pytest.mark.django_db


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.get_current_timezone())


def _ticks(name: str, figures: dict) -> list[float]:
    chart = reports.chart_figure(name, figures)
    try:
        axes = chart.axes[0]
        low, high = axes.get_ylim()
        assert low == 0, name
        return [t for t in axes.get_yticks() if low <= t <= high]
    finally:
        plt.close(chart)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_count_charts_tick_whole_numbers_from_zero(count):
    generate_year(2025, operators=2, signalements=count, cameras=1)
    figures = statistics(Period(date(2025, 1, 1), date(2025, 6, 30)), now=_paris(2026, 1, 1))
    for name in ("signalements", "requisitions", "active_hours"):
        ticks = _ticks(name, figures)
        assert len(ticks) >= 2, name
        assert all(t >= 0 and t == int(t) for t in ticks), (name, ticks)
    # No requisition at all: the axis still goes from 0 to 1, not from -0.05 to 0.05.
    assert max(_ticks("requisitions", figures)) >= 1


def test_months_are_named_in_full():
    assert reports.month_label("2026-01") == "janvier 2026"
    assert reports.month_label("2025-09") == "septembre 2025"
    with translation.override("en"):
        assert reports.month_label("2026-01") == "January 2026"


def test_no_month_after_now_is_counted_drawn_or_listed():
    generate_year(2026, operators=2, signalements=200, cameras=2, requisitions=10)
    now = _paris(2026, 3, 15, 12)
    figures = statistics(Period(date(2026, 1, 1), date(2026, 12, 31)), now=now)
    expected = ["2026-01", "2026-02", "2026-03"]
    assert list(figures["active_hours"]["by_month"]) == expected
    assert list(figures["signalements"]["by_month"]) == expected
    assert list(figures["requisitions"]["by_month"]) == expected
    assert list(figures["camera_availability"]["by_month"]) == expected
    assert figures["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    chart = reports.chart_figure("signalements", figures)
    drawn = [t.get_text() for t in chart.axes[0].get_xticklabels()]
    plt.close(chart)
    assert drawn == ["janvier 2026", "février 2026", "mars 2026"]
    with pdfplumber.open(io.BytesIO(reports.annual_report(2026, now=now))) as document:
        text = "\n".join(page.extract_text() for page in document.pages)
    assert "mars 2026" in text
    assert "Année en cours : chiffres arrêtés au 15/03/2026." in text
    assert "avril 2026" not in text and "décembre 2026" not in text
    # A period wholly to come has no month at all.
    assert (
        statistics(Period(date(2026, 4, 1), date(2026, 5, 31)), now=now)["signalements"]["by_month"]
        == {}
    )


def test_availability_counts_from_the_start_of_monitoring():
    year = generate_year(2025, operators=2, signalements=0, cameras=3)
    added, commissioned, outage_first = year.cameras
    CameraOutage.objects.filter(camera__in=year.cameras).delete()
    # Entered in the register on 1 July with no commissioning day: watched from then on.
    Camera.objects.filter(pk=added.pk).update(commissioned_on=None, created_at=_paris(2025, 7, 1))
    # Commissioned on 1 October (entered in the register before).
    Camera.objects.filter(pk=commissioned.pk).update(
        commissioned_on=date(2025, 10, 1), created_at=_paris(2025, 1, 1)
    )
    # Entered on 1 November, but a health check found it down on 1 September: watched since.
    Camera.objects.filter(pk=outage_first.pk).update(
        commissioned_on=None, created_at=_paris(2025, 11, 1)
    )
    CameraOutage.objects.create(
        camera=outage_first,
        status=HealthStatus.UNREACHABLE,
        started_at=_paris(2025, 9, 1),
        ended_at=_paris(2025, 9, 2),
    )
    figures = statistics(Period(date(2025, 1, 1), date(2025, 12, 31)), now=_paris(2026, 1, 1))
    rows = {row["code"]: row for row in figures["camera_availability"]["cameras"]}
    end = _paris(2026, 1, 1)

    def hours(since: datetime) -> float:
        # In UTC: subtracting two Paris times would ignore the change of hour in October.
        return round((end.astimezone(UTC) - since.astimezone(UTC)).total_seconds() / 3600, 2)

    assert rows[added.code]["hours_observed"] == hours(_paris(2025, 7, 1))
    assert rows[added.code]["availability"] == 1.0
    assert rows[commissioned.code]["hours_observed"] == hours(_paris(2025, 10, 1))
    assert rows[commissioned.code]["availability"] == 1.0
    assert rows[outage_first.code]["hours_observed"] == hours(_paris(2025, 9, 1))
    assert rows[outage_first.code]["hours_down"] == 24
    by_month = figures["camera_availability"]["by_month"]
    assert by_month["2025-03"] is None, "no camera watched in March: no availability"
    assert by_month["2025-08"] == 1.0
    assert by_month["2025-09"] == pytest.approx(1 - 24 / (30 * 24 * 2), abs=1e-5)
    # The chart draws no bar for the months nobody watched rather than a bar at 0 %.
    chart = reports.chart_figure("availability", figures)
    drawn = [t.get_text() for t in chart.axes[0].get_xticklabels()]
    plt.close(chart)
    assert drawn[0] == "juillet 2025" and len(drawn) == 6


def test_header_width_fits_each_word():
    header = pdf.header_row(["Mois", "Délinquance", "Trouble à l'ordre public"])
    widths = pdf.fit_header_words(header, [100.0, 10.0, 10.0])
    assert all(
        w >= pdf.word_width(cell) + 2 * pdf.CELL_PADDING
        for w, cell in zip(widths, header, strict=True)
    )
    assert sum(widths) == pytest.approx(120.0)
    assert all(isinstance(cell, Paragraph) for cell in header)


def test_report_headers_keep_their_words_whole():
    generate_year(2025, operators=2, signalements=300, cameras=3, requisitions=30)
    content = reports.annual_report(2025, now=_paris(2026, 2, 1))
    headers = [str(label) for _code, label in Category.choices]
    headers += list(reports.requisition_labels().values())
    headers += ["Délai médian jusqu'à la remise", "Heures observées", "Heures en panne"]
    with pdfplumber.open(io.BytesIO(content)) as document:
        placed = [(page, w) for page in document.pages for w in page.extract_words()]
        words = {w["text"] for _page, w in placed}
        assert len(document.pages) >= 4
        # Widened columns still fit between the margins.
        assert all(w["x1"] <= page.width - pdf.REPORT.right + 1 for page, w in placed)
    for header in headers:
        for word in header.split():
            assert word in words, (header, word)
