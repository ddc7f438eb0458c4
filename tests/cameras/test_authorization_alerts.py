"""Expiry alerts of the prefectoral authorizations: tasks the supervisors acknowledge, once per
threshold, superseded by a narrower threshold, a renewal or a replacement (CSI L252-4)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import services
from cameras.models import Authorization, AuthorizationAlert
from cameras.roles import AUTHORIZATION_ALERT_HANDLERS, AUTHORIZATION_ALERT_READERS
from cameras.tasks import record_authorization_alerts
from csu.lib.times import paris_text
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

Supersession = AuthorizationAlert.Supersession


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, tzinfo=UTC)


def _expiring(days: int, **extra) -> Authorization:
    """An authorization in force that ends ``days`` days from today."""
    today = timezone.localdate()
    return AuthorizationFactory(
        issued_on=today + timedelta(days=days) - timedelta(days=1800),
        expires_on=today + timedelta(days=days),
        **extra,
    )


def _raise_on(authorization: Authorization, day: date) -> bool:
    if not authorization.cameras.exists():
        CameraFactory(authorization=authorization)
    return services.authorization_record_alert(
        authorization_id=authorization.pk, today=day, now=_noon(day)
    )


def _states(authorization: Authorization) -> dict[int, str]:
    return {
        alert.threshold: alert.state
        for alert in AuthorizationAlert.objects.filter(authorization=authorization)
    }


def test_each_threshold_raises_one_alert_and_a_narrower_one_is_open_after_an_acknowledgement(
    supervisor,
):
    authorization = _expiring(200)
    CameraFactory(code="CAM-A1", authorization=authorization)
    end = authorization.expires_on
    assert not _raise_on(authorization, end - timedelta(days=181))
    assert AuthorizationAlert.objects.count() == 0

    # 180 days before: one alert, whatever the number of runs.
    for _ in range(3):
        _raise_on(authorization, end - timedelta(days=180))
    [wide] = AuthorizationAlert.objects.all()
    assert (wide.threshold, wide.state, wide.expires_on) == (180, "open", end)
    assert wide.raised_at == _noon(end - timedelta(days=180))
    services.authorization_alert_acknowledge(alert=wide, actor=supervisor, note="Dossier envoyé")

    # 90 days before: a new, open alert; the acknowledged one is closed, its acknowledgement kept.
    assert _raise_on(authorization, end - timedelta(days=90))
    assert not _raise_on(authorization, end - timedelta(days=89))
    assert _states(authorization) == {180: "superseded", 90: "open"}
    wide.refresh_from_db()
    assert wide.acknowledged_by == supervisor and wide.acknowledgement_note == "Dossier envoyé"
    assert wide.superseded_reason == Supersession.NARROWER

    # Unacknowledged, the 90-day alert closes when the 30-day one is raised.
    assert _raise_on(authorization, end - timedelta(days=30))
    assert _states(authorization) == {180: "superseded", 90: "superseded", 30: "open"}
    # The day after the end date: the expiry alert.
    assert _raise_on(authorization, end + timedelta(days=1))
    assert _states(authorization)[0] == "open"
    assert [s for t, s in _states(authorization).items() if t] == ["superseded"] * 3
    events = AuditEvent.objects.filter(action="authorization.expiry_alert").order_by("seq")
    assert [e.details["threshold"] for e in events] == [180, 90, 30, 0]
    assert events.last().details["cameras"] == ["CAM-A1"]


def test_a_late_first_run_raises_only_the_narrowest_threshold():
    authorization = _expiring(20)
    assert _raise_on(authorization, timezone.localdate())
    assert _states(authorization) == {30: "open"}


def test_the_daily_task_raises_once_and_keeps_the_last_threshold():
    soon = _expiring(80)
    CameraFactory(authorization=soon)
    AuthorizationFactory()  # far from expiry
    _expiring(60)  # covers no camera: nothing waits for its renewal
    assert record_authorization_alerts() == 1
    assert record_authorization_alerts() == 0
    assert _states(soon) == {90: "open"}
    soon.refresh_from_db()
    assert soon.last_alert_days == 90


def test_a_renewal_closes_the_alerts_and_starts_the_thresholds_over(supervisor):
    authorization = _expiring(25)
    CameraFactory(authorization=authorization)
    today = timezone.localdate()
    assert _raise_on(authorization, today)
    services.authorization_update(
        authorization=authorization,
        actor=supervisor,
        issued_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=1800),
    )
    [alert] = AuthorizationAlert.objects.all()
    assert (alert.state, alert.superseded_reason) == ("superseded", Supersession.RENEWED)
    authorization.refresh_from_db()
    assert authorization.last_alert_days is None
    assert not _raise_on(authorization, today)
    # The new end date raises its own alerts in time.
    assert _raise_on(authorization, authorization.expires_on - timedelta(days=170))
    assert AuthorizationAlert.objects.get(expires_on=authorization.expires_on).threshold == 180


def test_an_authorization_replaced_on_its_cameras_closes_its_alerts(supervisor, clips):
    old = _expiring(20)
    camera = CameraFactory(authorization=old, stream_url=clips["motion"].as_uri())
    assert _raise_on(old, timezone.localdate())
    services.camera_update(camera=camera, actor=supervisor, authorization=AuthorizationFactory())
    [alert] = AuthorizationAlert.objects.all()
    assert (alert.state, alert.superseded_reason) == ("superseded", Supersession.REPLACED)


def test_the_task_closes_alerts_whose_end_date_changed_elsewhere():
    authorization = _expiring(20)
    CameraFactory(authorization=authorization)
    assert _raise_on(authorization, timezone.localdate())
    Authorization.objects.filter(pk=authorization.pk).update(
        expires_on=authorization.expires_on + timedelta(days=200), last_alert_days=None
    )
    record_authorization_alerts()
    assert _states(authorization) == {30: "superseded"}
    assert AuthorizationAlert.objects.get().superseded_reason == Supersession.RENEWED


def test_acknowledging_is_audited_once_and_refused_to_others(supervisor, dpo, operator):
    authorization = _expiring(20)
    _raise_on(authorization, timezone.localdate())
    alert = AuthorizationAlert.objects.get()
    for outsider in (dpo, operator):
        with pytest.raises(PermissionDenied):
            services.authorization_alert_acknowledge(alert=alert, actor=outsider)
    with pytest.raises(ValidationError):
        services.authorization_alert_acknowledge(alert=alert, actor=supervisor, note="x" * 501)
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    services.authorization_alert_acknowledge(
        alert=alert, actor=supervisor, note="  Demande déposée en préfecture  ", now=moment
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at == moment
    assert alert.acknowledgement_note == "Demande déposée en préfecture"
    with pytest.raises(services.AlertClosed):
        services.authorization_alert_acknowledge(alert=alert, actor=UserFactory(role=Role.ADMIN))
    [event] = AuditEvent.objects.filter(action="authorization.alert_acknowledged")
    assert event.reason == "Demande déposée en préfecture"
    assert event.details["threshold"] == 30 and event.actor_id == supervisor.pk


# --- Pages -------------------------------------------------------------------------------------


def test_the_page_lists_open_alerts_with_what_to_do_and_acknowledges(signed_in, supervisor):
    authorization = _expiring(20, number="73-2021-DSC-0007")
    CameraFactory(code="CAM-P1", authorization=authorization)
    CameraFactory(code="CAM-P2", authorization=authorization)
    moment = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the repeated autumn hour in Paris
    services.authorization_record_alert(
        authorization_id=authorization.pk, today=timezone.localdate(), now=moment
    )
    client = signed_in(supervisor)
    page = client.get("/cameras/autorisations/alertes/").content.decode()
    open_part = page.split("Alertes prises en compte ou closes")[0]
    assert "73-2021-DSC-0007" in open_part and "J-30" in open_part
    assert "CAM-P1</a>, <a" in open_part and "CAM-P2" in open_part
    assert "<td>20</td>" in open_part  # days left
    assert paris_text(moment, seconds=False) in open_part
    assert "Demander à la préfecture le renouvellement" in open_part
    assert "Prendre en compte" in open_part

    alert = AuthorizationAlert.objects.get()
    response = client.post(
        f"/cameras/autorisations/alertes/{alert.pk}/prendre-en-compte/", {"note": "Vu"}
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "prise en compte" in page
    assert "Aucune alerte à traiter." in page
    again = client.post(f"/cameras/autorisations/alertes/{alert.pk}/prendre-en-compte/", {})
    assert "déjà prise en compte" in client.get(again["Location"]).content.decode()


def test_the_dpo_reads_the_alerts_without_acknowledging(signed_in, dpo):
    _raise_on(_expiring(20), timezone.localdate())
    alert = AuthorizationAlert.objects.get()
    client = signed_in(dpo)
    page = client.get("/cameras/autorisations/alertes/").content.decode()
    assert "J-30" in page and "Prendre en compte</button>" not in page
    url = f"/cameras/autorisations/alertes/{alert.pk}/prendre-en-compte/"
    assert client.post(url, {}).status_code == 403
    assert client.post(f"/api/authorization-alerts/{alert.pk}/acknowledge/", {}).status_code == 403
    alert.refresh_from_db()
    assert alert.is_open


def test_a_note_too_long_is_refused_with_a_message(signed_in, supervisor):
    _raise_on(_expiring(20), timezone.localdate())
    alert = AuthorizationAlert.objects.get()
    client = signed_in(supervisor)
    response = client.post(
        f"/cameras/autorisations/alertes/{alert.pk}/prendre-en-compte/",
        {"note": "x" * 501},
        follow=True,
    )
    assert "500 caractères au plus" in response.content.decode()
    api = client.post(
        f"/api/authorization-alerts/{alert.pk}/acknowledge/",
        {"note": "x" * 501},
        content_type="application/json",
    )
    assert api.status_code == 400 and "note" in api.json()
    alert.refresh_from_db()
    assert alert.is_open


def test_an_unknown_alert_is_not_found(signed_in, supervisor):
    client = signed_in(supervisor)
    assert client.post("/cameras/autorisations/alertes/999999/prendre-en-compte/").status_code == (
        404
    )
    assert client.post("/api/authorization-alerts/999999/acknowledge/").status_code == 404


# --- API ---------------------------------------------------------------------------------------


def test_the_api_lists_open_alerts_first_and_acknowledges_once(signed_in, supervisor):
    authorization = _expiring(85, number="73-2021-DSC-0100")
    CameraFactory(code="CAM-B2", authorization=authorization)
    CameraFactory(code="CAM-B1", authorization=authorization)
    end = authorization.expires_on
    _raise_on(authorization, end - timedelta(days=100))
    _raise_on(authorization, timezone.localdate())
    client = signed_in(supervisor)
    rows = client.get("/api/authorization-alerts/").json()["results"]
    assert [(r["threshold"], r["state"]) for r in rows] == [(90, "open"), (180, "superseded")]
    first = rows[0]
    assert first["authorization"] == "73-2021-DSC-0100"
    assert first["cameras"] == ["CAM-B1", "CAM-B2"]
    assert first["days_left"] == 85
    assert first["expires_on"] == end.isoformat()
    assert first["raised_at"].endswith("Z")
    assert rows[1]["superseded_reason"] == "narrower"

    url = f"/api/authorization-alerts/{first['id']}/acknowledge/"
    done = client.post(url, {"note": "Relance préfecture"}, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["state"] == "acknowledged"
    assert done.json()["acknowledgement_note"] == "Relance préfecture"
    assert client.post(url, {}, content_type="application/json").status_code == 409
    assert AuditEvent.objects.filter(action="authorization.alert_acknowledged").count() == 1


def test_the_api_is_documented(signed_in, supervisor):
    schema = signed_in(supervisor).get("/api/schema/").content.decode()
    assert "/api/authorization-alerts/{id}/acknowledge/" in schema
    assert "unauthorized_since" in schema


# --- Permission matrix --------------------------------------------------------------------------


def test_the_alerts_page_is_for_supervisors_admins_and_the_dpo():
    check_matrix(url="/cameras/autorisations/alertes/", allowed=AUTHORIZATION_ALERT_READERS)


def test_acknowledging_on_the_page_is_for_supervisors_and_admins():
    counter = itertools.count()

    def url() -> str:
        # A fresh alert each time: an acknowledged one cannot be acknowledged again.
        authorization = _expiring(20, number=f"73-MATRIX-{next(counter):03d}")
        _raise_on(authorization, timezone.localdate())
        alert = AuthorizationAlert.objects.get(authorization=authorization)
        return f"/cameras/autorisations/alertes/{alert.pk}/prendre-en-compte/"

    check_matrix(url=url, method="post", allowed=AUTHORIZATION_ALERT_HANDLERS, ok=[302])


def test_the_alerts_api_reads_for_the_dpo_and_acts_for_supervisors_and_admins():
    _raise_on(_expiring(20), timezone.localdate())
    alert = AuthorizationAlert.objects.get()
    check_matrix(url="/api/authorization-alerts/", allowed=AUTHORIZATION_ALERT_READERS, api=True)
    check_matrix(
        url=f"/api/authorization-alerts/{alert.pk}/", allowed=AUTHORIZATION_ALERT_READERS, api=True
    )
    counter = itertools.count()

    def url() -> str:
        authorization = _expiring(20, number=f"73-API-{next(counter):03d}")
        _raise_on(authorization, timezone.localdate())
        fresh = AuthorizationAlert.objects.get(authorization=authorization)
        return f"/api/authorization-alerts/{fresh.pk}/acknowledge/"

    check_matrix(
        url=url, method="post", api=True, allowed=AUTHORIZATION_ALERT_HANDLERS, data={"note": ""}
    )


# --- Query counts -------------------------------------------------------------------------------


def _alerts(n: int, prefix: str) -> None:
    for index in range(n):
        authorization = _expiring(20 + index, number=f"{prefix}-{index:03d}")
        for sensor in range(3):
            CameraFactory(code=f"{prefix}-{index:03d}-{sensor}", authorization=authorization)
        _raise_on(authorization, authorization.expires_on - timedelta(days=100))
        _raise_on(authorization, timezone.localdate())


@pytest.mark.parametrize("url", ["/cameras/autorisations/alertes/", "/api/authorization-alerts/"])
def test_the_alert_lists_take_a_fixed_number_of_queries(signed_in, supervisor, url):
    client = signed_in(supervisor)
    _alerts(1, "SMALL")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _alerts(20, "BIG")
    with CaptureQueriesContext(connection) as big:
        assert client.get(url).status_code == 200
    assert len(big) == len(small), (len(small), len(big))
    assert len(small) <= 11
