"""The alarm queue's pages and endpoints: the dashboard shows it first, people acknowledge and
close from it, supervisors read the history, the API lists and acts with precise errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cameras.models import HealthStatus
from operations import services
from operations.alarms import alarm_scan
from operations.models import Alarm, AlarmKind, AlarmPriority, AlarmState
from operations.selectors import DASHBOARD_ROWS
from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db


def _alarm(title: str = "Caméra CAM-01 (Gare) : injoignable", **fields) -> Alarm:
    now = timezone.now()
    values = {
        "kind": AlarmKind.CAMERA_HEALTH,
        "cause_key": title,
        "priority": AlarmPriority.URGENT,
        "title": title,
        "first_seen_at": now,
        "last_seen_at": now,
        **fields,
    }
    return Alarm.objects.create(**values)


def test_the_dashboard_shows_the_alarm_queue_first(signed_in, operator):
    CameraFactory(code="CAM-PONT", name="Pont", health_status=HealthStatus.UNREACHABLE)
    alarm_scan()
    page = signed_in(operator).get("/exploitation/").content.decode()
    queue = page.index('id="dash-alarms"')
    assert queue < page.index('id="dash-status"') < page.index('id="dash-failing"')
    assert "Caméra CAM-PONT (Pont) : injoignable" in page
    assert "Urgente" in page and "priority-3" in page
    assert "<kbd>a</kbd>" in page and "js/alarm-queue.js" in page


def test_the_queue_counts_occurrences_with_plurals(signed_in, operator):
    _alarm("Une seule", count=1)
    _alarm("Plusieurs", count=3, priority=AlarmPriority.NORMAL)
    page = signed_in(operator).get("/exploitation/alarmes/").content.decode()
    assert "3 occurrences" in page
    assert "1 occurrence" not in page  # a single occurrence goes without saying
    assert "2 ouvertes" in page and "2 à acquitter" in page
    # New urgent alarms come first.
    assert page.index("Une seule") < page.index("Plusieurs")


def test_the_queue_part_refreshes_alone_and_comes_back_to_its_page(signed_in, operator):
    alarm = _alarm()
    client = signed_in(operator)
    part = client.get("/exploitation/tableau/alarmes/?page=alarmes").content.decode()
    assert part.startswith('<section class="card alarm-queue')
    assert 'name="next" value="/exploitation/alarmes/"' in part
    part = client.get("/exploitation/tableau/alarmes/").content.decode()
    assert 'name="next" value="/exploitation/"' in part
    assert f"/exploitation/alarmes/{alarm.pk}/acquitter/" in part


def test_an_operator_acknowledges_from_the_page_with_a_comment(signed_in, operator):
    alarm = _alarm()
    client = signed_in(operator)
    url = f"/exploitation/alarmes/{alarm.pk}/acquitter/"

    response = client.post(url, {"comment": "", "next": "/exploitation/"}, follow=True)
    assert "Indiquez ce qui est fait" in response.content.decode()
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.NEW

    response = client.post(url, {"comment": "Patrouille envoyée.", "next": "/exploitation/"})
    assert response.status_code == 302 and response["Location"] == "/exploitation/"
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == operator
    page = client.get("/exploitation/alarmes/").content.decode()
    assert "« Patrouille envoyée. »" in page

    response = client.post(f"/exploitation/alarmes/{alarm.pk}/clore/", follow=True)
    assert "Alarme close" in response.content.decode()
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLOSED and alarm.closed_by == operator
    assert AuditEvent.objects.filter(action__in=["alarm.acknowledged", "alarm.closed"]).count() == 2


def test_an_unknown_alarm_is_404(signed_in, operator):
    assert signed_in(operator).post("/exploitation/alarmes/999999/acquitter/").status_code == 404


def test_the_history_says_who_acknowledged_and_closed_and_filters(signed_in, operator, supervisor):
    acknowledged = _alarm("Caméra CAM-A : image noire")
    services.alarm_acknowledge(alarm=acknowledged, comment="Nettoyage prévu.", actor=operator)
    closed = _alarm("Caméra CAM-B : injoignable", kind=AlarmKind.RECORDING)
    services.alarm_close(alarm=closed, actor=supervisor)
    Alarm.objects.create(
        kind=AlarmKind.EXPORT,
        cause_key="export:1",
        priority=AlarmPriority.HIGH,
        title="Extraction bloquée",
        first_seen_at=timezone.now() - timedelta(days=3),
        last_seen_at=timezone.now() - timedelta(days=3),
        state=AlarmState.CLOSED,
        closed_at=timezone.now() - timedelta(days=2),
        closed_by_system=True,
    )
    client = signed_in(supervisor)
    page = client.get("/exploitation/alarmes/historique/").content.decode()
    assert "3 alarmes" in page
    assert f"{operator}, le " in page and "« Nettoyage prévu. »" in page
    assert f"{supervisor}, le " in page
    assert "Automatique (cause disparue)" in page

    page = client.get("/exploitation/alarmes/historique/?state=acquittee").content.decode()
    assert "1 alarme" in page and "CAM-A" in page and "CAM-B" not in page
    page = client.get("/exploitation/alarmes/historique/?kind=recording").content.decode()
    assert "CAM-B" in page and "CAM-A" not in page
    day = timezone.localdate() - timedelta(days=3)
    page = client.get(
        f"/exploitation/alarmes/historique/?start={day:%Y-%m-%d}&end={day:%Y-%m-%d}"
    ).content.decode()
    assert "Extraction bloquée" in page and "CAM-A" not in page
    page = client.get("/exploitation/alarmes/historique/?start=2026-13-45").content.decode()
    assert "0 alarme" in page and "errorlist" in page


def test_the_history_is_the_supervisors(signed_in, operator):
    assert signed_in(operator).get("/exploitation/alarmes/historique/").status_code == 403
    page = signed_in(operator).get("/exploitation/alarmes/").content.decode()
    assert "/exploitation/alarmes/historique/" not in page


def test_api_lists_open_alarms_to_operators_and_every_alarm_to_supervisors(
    signed_in, operator, supervisor
):
    open_alarm = _alarm("Ouverte")
    closed = _alarm("Close")
    services.alarm_close(alarm=closed, actor=supervisor)

    rows = signed_in(operator).get("/api/alarms/").json()["results"]
    assert [row["id"] for row in rows] == [open_alarm.pk]
    row = rows[0]
    assert row["kind"] == "camera_health" and row["kind_label"] == "Santé d'une caméra"
    assert row["priority"] == 3 and row["priority_label"] == "Urgente"
    assert row["state"] == "nouvelle" and row["count"] == 1
    assert row["first_seen_at"].endswith("Z") and row["acknowledged_at"] is None

    client = signed_in(supervisor)
    assert len(client.get("/api/alarms/").json()["results"]) == 2
    rows = client.get("/api/alarms/?state=close").json()["results"]
    assert [row["id"] for row in rows] == [closed.pk] and rows[0]["closed_by"] == str(supervisor)
    response = client.get("/api/alarms/?priority=9")
    assert response.status_code == 400 and "priority" in response.json()


def test_api_acknowledge_and_close(signed_in, operator):
    alarm = _alarm()
    client = signed_in(operator)
    url = f"/api/alarms/{alarm.pk}/acknowledge/"

    response = client.post(url, {}, content_type="application/json")
    assert response.status_code == 400 and "comment" in response.json()
    response = client.post(url, {"comment": "x" * 1001}, content_type="application/json")
    assert response.status_code == 400 and "comment" in response.json()

    response = client.post(url, {"comment": "Vu sur le mur."}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "acquittee" and body["acknowledged_by"] == str(operator)
    assert body["acknowledgement"] == "Vu sur le mur."

    response = client.post(url, {"comment": "Encore."}, content_type="application/json")
    assert response.status_code == 400 and "déjà été acquittée" in str(response.json())

    response = client.post(f"/api/alarms/{alarm.pk}/close/", {}, content_type="application/json")
    assert response.status_code == 200 and response.json()["state"] == "close"
    response = client.post("/api/alarms/999999/close/", {}, content_type="application/json")
    assert response.status_code == 404


def test_the_queue_reads_in_english_when_chosen(signed_in, operator):
    _alarm(count=2)
    client = signed_in(operator)
    client.post("/i18n/setlang/", {"language": "en", "next": "/exploitation/alarmes/"})
    page = client.get("/exploitation/alarmes/").content.decode()
    assert "Alarms" in page and "Urgent" in page and "Camera health" in page
    assert "2 occurrences" in page and "1 open" in page and "1 to acknowledge" in page
    assert "Acknowledge" in page and "next alarm" in page
    assert "Acquitter" not in page and "Urgente" not in page


def test_the_dashboard_lists_the_first_alarms_and_the_page_lists_them_all(signed_in, operator):
    for n in range(DASHBOARD_ROWS + 2):
        _alarm(f"Alarme numéro {n:03d}")
    client = signed_in(operator)
    dashboard = client.get("/exploitation/").content.decode()
    assert dashboard.count('class="alarm priority-') == DASHBOARD_ROWS
    assert f"Voir les {DASHBOARD_ROWS + 2} alarmes ouvertes" in dashboard
    for url in ("/exploitation/alarmes/", "/exploitation/tableau/alarmes/?page=alarmes"):
        page = client.get(url).content.decode()
        assert page.count('class="alarm priority-') == DASHBOARD_ROWS + 2
        assert "Voir les" not in page
