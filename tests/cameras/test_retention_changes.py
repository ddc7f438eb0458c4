"""Lowering a camera's retention: a request the DPO validates or refuses, never below the
installation's minimum; raising it applies at once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import retention, services
from cameras.models import Authorization, Camera, RetentionChange
from cameras.retention import Period, periods_from
from compliance.registers import REGISTERS
from tests.cameras.factories import CameraFactory
from tests.factories import UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

RETENTION_READERS = [Role.SUPERVISOR, Role.ADMIN, Role.DPO]


@pytest.fixture
def camera(clips):
    return CameraFactory(code="CAM-C01", stream_url=clips["motion"].as_uri(), retention_days=15)


def _edit_body(camera: Camera, **overrides) -> dict:
    body = {
        "code": camera.code,
        "name": camera.name,
        "sector": camera.sector,
        "kind": camera.kind,
        "status": camera.status,
        "retention_days": camera.retention_days,
        "authorization": camera.authorization_id,
        "stream_url": camera.stream_url,
        "expected_fps": camera.expected_fps,
    }
    body.update(overrides)
    return body


REASON = "Avis de la commission"


def _lower(camera: Camera, days: int = 10, reason: str = REASON) -> RetentionChange:
    requester = UserFactory(role=Role.SUPERVISOR)
    services.camera_update(
        camera=camera, actor=requester, retention_days=days, retention_reason=reason
    )
    return RetentionChange.objects.get(camera=camera, state=RetentionChange.State.PENDING)


# --- The rules ------------------------------------------------------------------------------------


def test_a_lowering_is_only_a_request_until_the_dpo_validates(camera, supervisor, dpo):
    updated = services.camera_update(
        camera=camera, actor=supervisor, retention_days=10, name="Place du marché"
    )
    camera.refresh_from_db()
    assert camera.retention_days == 15 and camera.name == "Place du marché"
    change = updated.retention_request
    assert change is not None and change.state == RetentionChange.State.PENDING
    assert (change.old_days, change.new_days, change.requested_by) == (15, 10, supervisor)
    requested = AuditEvent.objects.get(action="camera.retention_change_requested")
    assert requested.details["new_days"] == 10 and requested.target_label == str(camera)

    retention.retention_change_validate(change=change, actor=dpo, note="Conforme à l'arrêté")
    camera.refresh_from_db()
    change.refresh_from_db()
    assert camera.retention_days == 10
    assert change.state == RetentionChange.State.VALIDATED and change.decided_by == dpo
    validated = AuditEvent.objects.get(action="camera.retention_change_validated")
    assert validated.details["old_days"] == 15 and validated.reason == "Conforme à l'arrêté"


def test_a_refusal_keeps_the_retention_and_needs_a_reason(camera, dpo):
    change = _lower(camera)
    with pytest.raises(ValidationError):
        retention.retention_change_refuse(change=change, actor=dpo, note="  ")
    retention.retention_change_refuse(change=change, actor=dpo, note="Réquisitions fréquentes")
    camera.refresh_from_db()
    change.refresh_from_db()
    assert camera.retention_days == 15 and change.state == RetentionChange.State.REFUSED
    assert AuditEvent.objects.filter(action="camera.retention_change_refused").count() == 1
    with pytest.raises(retention.RetentionChangeClosed):
        retention.retention_change_validate(change=change, actor=dpo)


def test_only_the_dpo_decides(camera, supervisor):
    change = _lower(camera)
    with pytest.raises(PermissionDenied):
        retention.retention_change_validate(change=change, actor=supervisor)
    change.refresh_from_db()
    assert change.state == RetentionChange.State.PENDING


def test_a_raise_applies_at_once_without_a_request(camera, supervisor):
    Authorization.objects.filter(pk=camera.authorization_id).update(retention_days=30)
    camera.refresh_from_db()
    services.camera_update(camera=camera, actor=supervisor, retention_days=20)
    camera.refresh_from_db()
    assert camera.retention_days == 20
    assert not RetentionChange.objects.exists()


def test_no_other_change_while_a_lowering_is_pending(camera, supervisor):
    _lower(camera)
    for days in (8, 20):
        with pytest.raises(ValidationError, match="en attente de validation par le DPO"):
            services.camera_update(camera=camera, actor=supervisor, retention_days=days)
    assert RetentionChange.objects.count() == 1


@pytest.mark.parametrize("days", [1, 6])
def test_below_the_minimum_is_refused(camera, supervisor, settings, days):
    settings.MIN_RETENTION_DAYS = 7
    with pytest.raises(ValidationError, match="inférieure à 7 jours"):
        services.camera_update(camera=camera, actor=supervisor, retention_days=days)
    assert not RetentionChange.objects.exists()


def test_the_minimum_is_the_setting(camera, supervisor, settings):
    settings.MIN_RETENTION_DAYS = 3
    services.camera_update(camera=camera, actor=supervisor, retention_days=3)
    assert RetentionChange.objects.get().new_days == 3


def test_a_camera_cannot_be_created_below_the_minimum(clips, supervisor, settings):
    settings.MIN_RETENTION_DAYS = 7
    with pytest.raises(ValidationError, match="inférieure à 7 jours"):
        services.camera_create(
            code="CAM-C09",
            name="Parvis",
            sector="Gare",
            kind="dome",
            stream_url=clips["motion"].as_uri(),
            retention_days=5,
            actor=supervisor,
        )
    assert not Camera.objects.filter(code="CAM-C09").exists()


def test_the_periods_of_footage_keep_the_retention_they_were_recorded_under():
    t1, t2, t3 = (datetime(2026, 3, day, tzinfo=UTC) for day in (1, 10, 20))
    # 20 → 10 at t1, then raised to 25 (at once, for all footage), then 25 → 5 at t3.
    assert periods_from(5, [(t3, 25), (t1, 20)]) == [
        Period(None, t1, 25),
        Period(t1, t3, 25),
        Period(t3, None, 5),
    ]
    # 20 → 10 at t1, 10 → 7 at t2: what was recorded before t1 keeps 20 days.
    assert periods_from(7, [(t1, 20), (t2, 10)]) == [
        Period(None, t1, 20),
        Period(t1, t2, 10),
        Period(t2, None, 7),
    ]
    assert periods_from(15, []) == [Period(None, None, 15)]


@hsettings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=12),
    recorded=st.integers(min_value=0, max_value=11),
)
def test_each_segment_keeps_the_longest_retention_it_was_ever_under(values, recorded):
    """Against a simulation of the history: a segment gets the retention in force when it is
    recorded; a raise lengthens every segment's at once; a lowering leaves it alone."""
    history = [days for i, days in enumerate(values) if i == 0 or days != values[i - 1]]
    recorded = min(recorded, len(history) - 1)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    moments = [day + timedelta(days=i) for i in range(len(history))]
    kept = history[recorded]  # recorded just after the change to history[recorded]
    for days in history[recorded + 1 :]:
        kept = max(kept, days)
    lowerings = [
        (moments[i], history[i - 1]) for i in range(1, len(history)) if history[i] < history[i - 1]
    ]
    started = moments[recorded] + timedelta(hours=1)
    periods = periods_from(history[-1], lowerings)
    (period,) = [
        p
        for p in periods
        if (p.start is None or started >= p.start) and (p.end is None or started < p.end)
    ]
    assert period.days == kept


# --- Pages ----------------------------------------------------------------------------------------


def test_the_edit_page_says_the_lowering_awaits_the_dpo(camera, signed_in, supervisor):
    client = signed_in(supervisor)
    response = client.post(
        f"/cameras/{camera.code}/modifier/",
        _edit_body(camera, retention_days=10, retention_reason="Avis de la commission"),
        follow=True,
    )
    assert response.status_code == 200
    assert "en attente de validation par le DPO" in response.content.decode()
    camera.refresh_from_db()
    assert camera.retention_days == 15
    assert RetentionChange.objects.get().reason == "Avis de la commission"
    detail = client.get(f"/cameras/{camera.code}/").content.decode()
    assert "réduction à 10 jours en attente de validation par le DPO" in detail


def test_the_edit_page_refuses_below_the_minimum_in_french(camera, signed_in, supervisor):
    response = signed_in(supervisor).post(
        f"/cameras/{camera.code}/modifier/", _edit_body(camera, retention_days=2)
    )
    assert response.status_code == 200
    assert "ne peut être inférieure à 7 jours" in response.content.decode()
    assert not RetentionChange.objects.exists()


def test_the_dpo_validates_on_the_page(camera, signed_in, dpo):
    change = _lower(camera)
    client = signed_in(dpo)
    page = client.get("/cameras/conservation/").content.decode()
    assert camera.code in page and "Valider" in page
    response = client.post(f"/cameras/conservation/{change.pk}/valider/", follow=True)
    assert "conservation réduite à 10 jours" in response.content.decode()
    camera.refresh_from_db()
    assert camera.retention_days == 10


def test_the_dpo_refuses_on_the_page_with_a_reason(camera, signed_in, dpo):
    change = _lower(camera)
    client = signed_in(dpo)
    response = client.post(f"/cameras/conservation/{change.pk}/refuser/", follow=True)
    assert "Indiquez le motif du refus" in response.content.decode()
    client.post(f"/cameras/conservation/{change.pk}/refuser/", {"note": "Non justifié"})
    change.refresh_from_db()
    assert change.state == RetentionChange.State.REFUSED and change.decision_note == "Non justifié"


# --- API ------------------------------------------------------------------------------------------


def test_api_lowering_answers_200_with_the_pending_request(camera, signed_in, supervisor):
    response = signed_in(supervisor).patch(
        f"/api/cameras/{camera.code}/",
        {"retention_days": 10, "retention_reason": "Avis de la commission"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["retention_days"] == 15
    pending = body["retention_change_pending"]
    assert (pending["old_days"], pending["new_days"], pending["state"]) == (15, 10, "pending")
    listed = signed_in(supervisor).get("/api/cameras/").json()["results"]
    assert listed[0]["retention_change_pending"]["id"] == pending["id"]


def test_api_refuses_below_the_minimum_with_400(camera, signed_in, supervisor):
    response = signed_in(supervisor).patch(
        f"/api/cameras/{camera.code}/", {"retention_days": 3}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "inférieure à 7 jours" in " ".join(response.json()["retention_days"])


def test_api_the_dpo_validates_and_refuses(clips, signed_in, dpo):
    first = _lower(CameraFactory(retention_days=15))
    second = _lower(CameraFactory(retention_days=15))
    client = signed_in(dpo)
    response = client.post(f"/api/retention-changes/{first.pk}/validate/")
    assert response.status_code == 200 and response.json()["state"] == "validated"
    again = client.post(f"/api/retention-changes/{first.pk}/validate/")
    assert again.status_code == 409
    refused = client.post(
        f"/api/retention-changes/{second.pk}/refuse/", {}, content_type="application/json"
    )
    assert refused.status_code == 400
    refused = client.post(
        f"/api/retention-changes/{second.pk}/refuse/",
        {"note": "Non justifié"},
        content_type="application/json",
    )
    assert refused.status_code == 200 and refused.json()["state"] == "refused"


# --- Register -------------------------------------------------------------------------------------


def test_the_register_lists_each_request_and_decision(camera, dpo):
    change = _lower(camera)
    retention.retention_change_validate(change=change, actor=dpo)
    rows = REGISTERS["changements-conservation"].rows(None, None)
    assert len(rows) == 1
    row = rows[0]
    assert row[1:5] == [camera.code, "15", "10", change.requested_by.get_username()]
    assert row[5] == "Avis de la commission" and row[7] == "dpo"


# --- Permission matrix ----------------------------------------------------------------------------


def test_the_changes_page_is_for_managers_and_the_dpo(camera):
    _lower(camera)
    check_matrix(url="/cameras/conservation/", allowed=RETENTION_READERS)


@pytest.mark.parametrize(("verb", "data"), [("valider", None), ("refuser", {"note": "Non"})])
def test_deciding_on_the_page_is_for_the_dpo(camera, verb, data):
    change = _lower(camera)
    check_matrix(
        url=f"/cameras/conservation/{change.pk}/{verb}/",
        method="post",
        allowed=[Role.DPO],
        ok=[302],
        data=data,
    )
    change.refresh_from_db()
    assert change.state != RetentionChange.State.PENDING


def test_api_reads_are_for_managers_and_the_dpo(camera):
    change = _lower(camera)
    check_matrix(url="/api/retention-changes/", allowed=RETENTION_READERS, api=True)
    check_matrix(url=f"/api/retention-changes/{change.pk}/", allowed=RETENTION_READERS, api=True)


@pytest.mark.parametrize(("verb", "data"), [("validate", {}), ("refuse", {"note": "Non"})])
def test_api_deciding_is_for_the_dpo(clips, verb, data):
    counter = itertools.count()

    def url() -> str:
        # A fresh request each time: a decided one answers 409.
        camera = CameraFactory(code=f"CAM-D{next(counter):02d}", retention_days=15)
        return f"/api/retention-changes/{_lower(camera).pk}/{verb}/"

    check_matrix(url=url, method="post", api=True, allowed=[Role.DPO], data=data)
