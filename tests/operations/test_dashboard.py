"""The dashboard and the statistics answer in a fixed number of queries whatever the volume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cameras.models import HealthStatus
from operations.demo import generate_year
from operations.models import Shift, Signalement
from recordings.models import RecorderLease

pytestmark = pytest.mark.django_db

#: Measured counts, session, user, second-factor and navigation lookups included: ten for
#: the dashboard itself (two for the requisitions waiting for the room), five for the
#: statistics (one for the requisitions).
DASHBOARD_PAGE, DASHBOARD_API, STATISTICS = 17, 16, 11


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(
    ("url", "bound"),
    [
        ("/exploitation/", DASHBOARD_PAGE),
        ("/api/operations/dashboard/", DASHBOARD_API),
        ("/api/operations/statistics/?start=2025-01-01&end=2025-12-31", STATISTICS),
        ("/exploitation/statistiques/?start=2025-01-01&end=2025-12-31", STATISTICS),
    ],
)
def test_fixed_number_of_queries_whatever_the_volume(
    supervisor, signed_in, django_assert_max_num_queries, url, bound
):
    client = signed_in(supervisor)
    generate_year(2025, operators=2, signalements=50, cameras=3, prefix="small", requisitions=3)
    with django_assert_max_num_queries(bound):
        small = _count(client, url)
    generate_year(2025, operators=8, signalements=3_000, cameras=60, prefix="big", requisitions=200)
    for camera in generate_year(2024, operators=3, signalements=10, cameras=40).cameras[:20]:
        RecorderLease.objects.create(camera=camera, state=RecorderLease.State.ERROR)
    Shift.objects.create(operator=supervisor, started_at=timezone.now())
    with django_assert_max_num_queries(bound):
        big = _count(client, url)
    assert big == small, (small, big)


def test_dashboard_json_shows_duty_health_open_signalements_and_recording_alerts(
    operator, supervisor, signed_in
):
    year = generate_year(timezone.localdate().year - 1, operators=2, signalements=40, cameras=4)
    Shift.objects.create(operator=operator, started_at=timezone.now() - timedelta(hours=2))
    unreachable, recording, lapsed, _none = year.cameras
    unreachable.health_status = HealthStatus.UNREACHABLE
    unreachable.save()
    now = timezone.now()
    RecorderLease.objects.create(
        camera=recording, state="recording", holder="r1", expires_at=now + timedelta(minutes=1)
    )
    RecorderLease.objects.create(
        camera=lapsed, state="recording", holder="r2", expires_at=now - timedelta(minutes=5)
    )
    data = signed_in(supervisor).get("/api/operations/dashboard/").json()
    assert [s["operator"] for s in data["on_duty"]] == [str(operator)]
    assert data["failing_cameras"][0]["code"] == unreachable.code
    assert data["cameras_in_service"] == 4
    assert data["open_count"] == Signalement.objects.filter(closed_at__isnull=True).count()
    states = {a["code"]: a["state"] for a in data["recording_alerts"]}
    assert recording.code not in states
    assert states[lapsed.code] == "lapsed" and states[_none.code] == "none"
    assert data["recording_alert_count"] == 3
    page = signed_in(operator).get("/exploitation/")
    assert b"operations-dashboard.js" in page.content and b"dash-labels" in page.content


def test_charts_and_annual_report(supervisor, signed_in):
    generate_year(2025, operators=3, signalements=300, cameras=5, requisitions=40)
    client = signed_in(supervisor)
    for name in ("active_hours", "signalements", "requisitions", "availability"):
        response = client.get(
            f"/exploitation/statistiques/graphique/{name}.png?start=2025-01-01&end=2025-12-31"
        )
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
    pdf = client.get("/exploitation/statistiques/rapport-2025.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get("/exploitation/statistiques/rapport-1999.pdf").status_code == 404
    page = client.get("/exploitation/statistiques/?start=2025-01-01&end=2025-12-31")
    assert "300" in page.content.decode()
    assert 'id="requisition-table"' in page.content.decode()
    api = client.get("/api/operations/statistics/?start=2025-01-01&end=2025-12-31").json()
    assert api["requisitions"]["totals"]["received"] == 40
    assert set(api["requisitions"]["by_month"]["2025-06"]) == {
        "received",
        "handed_over",
        "refused",
        "too_late",
        "median_hours_to_handover",
    }


def test_statistics_refuse_bad_periods(supervisor, signed_in):
    client = signed_in(supervisor)
    api = client.get("/api/operations/statistics/?start=2025-12-01&end=2025-01-01")
    assert api.status_code == 400
    assert api.json() == {"end": ["La fin de la période précède son début."]}
    api = client.get("/api/operations/statistics/?start=hier")
    assert api.status_code == 400
    assert api.json()["start"] == ["Date invalide : écrivez JJ/MM/AAAA."]
    assert api.json()["end"] == ["Indiquez la fin de la période."]
    page = client.get("/exploitation/statistiques/?start=2025-12-01&end=2025-01-01")
    assert "La fin de la période précède son début." in page.content.decode()
    chart = client.get("/exploitation/statistiques/graphique/active_hours.png?start=x&end=y")
    assert chart.status_code == 400
