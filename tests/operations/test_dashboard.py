"""The dashboard (its page and each part htmx refreshes) and the statistics: what they show, in a
fixed number of queries whatever the volume."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cameras.models import Camera, HealthStatus
from csu.lib.times import paris_text
from operations import views
from operations.demo import generate_year
from operations.models import Shift, Signalement
from recordings.models import RecorderLease
from tests.cameras.factories import AuthorizationFactory, CameraFactory

pytestmark = pytest.mark.django_db

#: Measured counts, session, user, second-factor and navigation lookups included: fifteen for
#: the dashboard itself (two for the alarm queue, two for the requisitions waiting for the room,
#: one for the open expiry alerts of the authorizations, two for the clock alerts), five for the
#: statistics (one for the requisitions).
DASHBOARD_PAGE, STATISTICS = 22, 11
#: Each part of the dashboard alone: six for the session (read, then saved), the user and the
#: second factor, then its own (see the ``dashboard_*`` selectors).
PARTS = {
    "alarmes": 8,
    "etat": 6,
    "en-service": 8,
    "sante": 7,
    "cameras-en-defaut": 7,
    "signalements": 8,
    "requisitions": 8,
    "enregistrement": 10,
    "autorisations": 7,
}


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(
    ("url", "bound"),
    [
        ("/exploitation/", DASHBOARD_PAGE),
        *[(f"/exploitation/tableau/{part}/", bound) for part, bound in PARTS.items()],
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


def _part(client, name: str) -> str:
    response = client.get(f"/exploitation/tableau/{name}/")
    assert response.status_code == 200, name
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def _rows(html: str) -> list[list[str]]:
    """The cells' text of each body row of the table in ``html``."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_dashboard_parts_show_duty_health_open_signalements_and_recording_alerts(
    operator, supervisor, signed_in
):
    year = generate_year(timezone.localdate().year - 1, operators=2, signalements=40, cameras=4)
    started = timezone.now() - timedelta(hours=2)
    Shift.objects.create(operator=operator, started_at=started)
    unreachable, recording, lapsed, _none = year.cameras
    Camera.objects.filter(pk__in=[c.pk for c in year.cameras]).update(
        authorization=AuthorizationFactory()
    )
    unreachable.health_status = HealthStatus.UNREACHABLE
    unreachable.save()
    now = timezone.now()
    RecorderLease.objects.create(
        camera=recording, state="recording", holder="r1", expires_at=now + timedelta(minutes=1)
    )
    RecorderLease.objects.create(
        camera=lapsed, state="recording", holder="r2", expires_at=now - timedelta(minutes=5)
    )
    client = signed_in(supervisor)

    duty = _part(client, "en-service")
    assert f"{operator} — depuis {paris_text(started, seconds=False)}" in duty
    assert "En service (1)" in duty
    assert "Santé des caméras (4 en service)" in _part(client, "sante")
    assert _rows(_part(client, "cameras-en-defaut"))[0][0].startswith(unreachable.code)
    open_count = Signalement.objects.filter(closed_at__isnull=True).count()
    assert f"Signalements en cours ({open_count})" in _part(client, "signalements")
    recording_part = _part(client, "enregistrement")
    assert "enregistrement (3)</h2>" in recording_part
    states = {row[0].split(" — ")[0]: row[1] for row in _rows(recording_part)}
    assert recording.code not in states
    assert states[lapsed.code] == "bail expiré" and states[_none.code] == "aucun enregistreur"

    # The page shows the same parts, each polled from its own address.
    page = client.get("/exploitation/").content.decode()
    for name in PARTS:
        part = _part(client, name)
        # The opening tag, but the status line's title (its time, which may have ticked).
        opening = part.split(">", 1)[0].split(" data-stale-title=", 1)[0]
        assert f'hx-get="/exploitation/tableau/{name}/"' in opening
        assert 'hx-trigger="every 15s" hx-swap="outerHTML"' in opening
        assert opening in page, name
    assert "vendor/htmx/htmx.min.js" in page and "operations-dashboard.js" not in page


def test_the_recording_part_says_which_authorization_is_missing(supervisor, signed_in):
    today = timezone.localdate()
    expired = AuthorizationFactory(
        number="A-2019", issued_on=today - timedelta(days=900), expires_on=today - timedelta(days=2)
    )
    future = AuthorizationFactory(
        number="A-2030", issued_on=today + timedelta(days=4), expires_on=today + timedelta(days=900)
    )
    CameraFactory(code="CAM-EXP", authorization=expired)
    CameraFactory(code="CAM-NEW", authorization=future)
    CameraFactory(code="CAM-NUL", authorization=None)
    CameraFactory(code="CAM-OK")
    states = {
        row[0].split(" — ")[0]: row[1]
        for row in _rows(_part(signed_in(supervisor), "enregistrement"))
    }
    assert states == {
        "CAM-EXP": "arrêté faute d'autorisation : Autorisation A-2019 expirée le "
        f"{expired.expires_on:%d/%m/%Y}.",
        "CAM-NEW": "arrêté faute d'autorisation : Autorisation A-2030 en vigueur à partir du "
        f"{future.issued_on:%d/%m/%Y}.",
        "CAM-NUL": "arrêté faute d'autorisation : Aucune autorisation préfectorale.",
        "CAM-OK": "aucun enregistreur",
    }


def test_dashboard_times_are_paris_time_whatever_the_active_zone(operator, signed_in):
    # 21:30 UTC in winter is 22:30 in Paris, the next day in Tokyo, 16:30 in New York.
    started = datetime(2026, 1, 15, 21, 30, tzinfo=UTC)
    Shift.objects.create(operator=operator, started_at=started)
    with timezone.override("Asia/Tokyo"):
        duty = _part(signed_in(operator), "en-service")
    assert f"{operator} — depuis 15/01/2026 22:30" in duty


def test_unknown_dashboard_part_is_not_found(operator, signed_in):
    assert signed_in(operator).get("/exploitation/tableau/inconnu/").status_code == 404


def test_refresh_period_is_the_one_the_page_states(operator, signed_in, monkeypatch):
    monkeypatch.setattr(views, "DASHBOARD_REFRESH_SECONDS", 5)
    status = _part(signed_in(operator), "etat")
    assert 'hx-trigger="every 5s"' in status
    assert "actualisation automatique toutes les 5 secondes" in status


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
