"""Holds (gel des images): placing, releasing, refusal on destroyed footage, pages and API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.roles import Role
from audit.models import AuditEvent
from recordings import holds, purge
from recordings.models import Hold
from tests.permissions import check_matrix
from tests.recordings.retention import make_camera, record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def footage():
    now = timezone.now()
    camera = make_camera("CAM-H1", retention_days=15)
    return camera, record_segments(camera, now - timedelta(days=1), 3)


def _manual(camera, start, end, actor="test", **extra):
    fields = {
        "basis": Hold.Basis.MANUAL,
        "reason": "Agression signalée",
        "justification": "Images à préserver dans l'attente de la réquisition annoncée.",
        "case_reference": "PV 2026/000777",
        "expires_at": timezone.now() + timedelta(days=30),
    } | extra
    return holds.hold_place(camera=camera, starts_at=start, ends_at=end, actor=actor, **fields)


def test_placing_a_hold_is_an_audit_event_with_its_justification(footage, supervisor):
    camera, segments = footage
    hold = _manual(camera, segments[0].started_at, segments[1].ended_at, actor=supervisor)
    event = AuditEvent.objects.get(action="recording.hold_placed")
    assert event.actor_id == supervisor.pk and event.details["hold"] == hold.pk
    assert (
        event.details["segments"] == 2 and "réquisition annoncée" in event.details["justification"]
    )
    assert hold.created_by == supervisor and hold.is_active()
    assert list(
        holds.holds_covering(
            camera=camera, starts_at=segments[1].started_at, ends_at=segments[2].ended_at
        )
    ) == [hold]


def test_a_requisition_hold_carries_its_reference(footage):
    camera, segments = footage
    hold = holds.hold_place(
        camera=camera,
        starts_at=segments[0].started_at,
        ends_at=segments[0].ended_at,
        basis=Hold.Basis.REQUISITION,
        reason="Réquisition art. 77-1-1 CPP",
        reference_type="evidence.requisition",
        reference_id="42",
        reference_label="PV 2026/001234",
        expires_at=timezone.now() + timedelta(days=365),
        actor="intake",
    )
    assert (
        hold.reference_id == "42" and hold.created_by is None and hold.created_by_name == "intake"
    )


def test_a_manual_hold_needs_a_written_justification_and_a_reference_hold_a_reference(footage):
    camera, segments = footage
    with pytest.raises(ValidationError) as error:
        _manual(camera, segments[0].started_at, segments[0].ended_at, justification="  ")
    assert "justification" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _manual(camera, segments[0].started_at, segments[0].ended_at, basis=Hold.Basis.REQUISITION)
    assert "reference_id" in error.value.message_dict


def test_a_hold_on_destroyed_footage_is_refused_with_the_destruction_date():
    now = timezone.now()
    camera = make_camera("CAM-H2", retention_days=15)
    segments = record_segments(camera, now - timedelta(days=16), 2)
    purge.purge_run(now=now)
    with translation.override("fr"), pytest.raises(holds.FootageUnavailable) as error:
        _manual(camera, segments[0].started_at, segments[1].ended_at)
    entry = error.value.entry
    assert entry is not None and error.value.destroyed_at == entry.destroyed_at
    message = " ".join(error.value.messages)
    local = timezone.localtime(entry.destroyed_at)
    assert "ont été détruites le" in message and f"{local:%d/%m/%Y}" in message
    assert f"n° {entry.pk}" in message
    assert not Hold.objects.exists()


def test_a_hold_where_nothing_is_indexed_is_placed_and_says_so():
    """A hold is a camera × window: nothing indexed (yet) is no reason to refuse it."""
    camera = make_camera("CAM-H3")
    now = timezone.now()
    with translation.override("fr"):
        hold = _manual(camera, now - timedelta(hours=2), now - timedelta(hours=1))
    assert hold.is_active() and hold.destruction is None
    assert "aucun enregistrement de la caméra CAM-H3 n'était indexé" in hold.footage_note
    event = AuditEvent.objects.get(action="recording.hold_placed")
    assert event.details["segments"] == 0 and event.details["note"] == hold.footage_note


def test_the_api_says_when_nothing_is_indexed_where_it_places_a_hold(supervisor, signed_in):
    camera = make_camera("CAM-H4")
    now = timezone.now()
    client = signed_in(supervisor)
    response = client.post(
        "/api/holds/",
        {
            "camera": camera.code,
            "starts_at": (now - timedelta(hours=2)).isoformat(),
            "ends_at": (now - timedelta(hours=1)).isoformat(),
            "reason": "Vol à l'arraché",
            "justification": "Victime venue déposer plainte ce matin.",
            "case_reference": "PV 2026/000801",
            "expires_at": (now + timedelta(days=20)).isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    note = response.json()["footage_note"]
    assert "aucun enregistrement de la caméra CAM-H4 n'était indexé" in note
    # Read back later, the hold no longer carries what was known when it was placed.
    again = client.get(f"/api/holds/{response.json()['id']}/").json()
    assert again["footage_note"] == ""


def test_releasing_is_an_audit_event_and_happens_once(footage, supervisor):
    camera, segments = footage
    hold = _manual(camera, segments[0].started_at, segments[0].ended_at)
    holds.hold_release(hold=hold, reason="Affaire classée", actor=supervisor)
    hold.refresh_from_db()
    assert not hold.is_active() and hold.released_by_name == supervisor.username
    assert AuditEvent.objects.filter(action="recording.hold_released").count() == 1
    with pytest.raises(ValidationError):
        holds.hold_release(hold=hold, reason="encore", actor=supervisor)
    assert AuditEvent.objects.filter(action="recording.hold_released").count() == 1


# --- Pages and API -------------------------------------------------------------------------------


def test_hold_pages_permission_matrix(footage):
    camera, segments = footage
    hold = _manual(camera, segments[0].started_at, segments[0].ended_at)
    readers = [Role.SUPERVISOR, Role.DPO]
    check_matrix(url="/conservation/gels/", allowed=readers)
    check_matrix(url=f"/conservation/gels/{hold.pk}/", allowed=readers)
    check_matrix(url="/conservation/gels/nouveau/", allowed=[Role.SUPERVISOR])
    check_matrix(
        url=f"/conservation/gels/{hold.pk}/lever/",
        method="post",
        data={"reason": ""},
        allowed=[Role.SUPERVISOR],
        ok=(302,),
    )
    check_matrix(
        url=f"/conservation/gels/{hold.pk}/renouveler/",
        method="post",
        data={"expires_on": "", "justification": ""},
        allowed=[Role.SUPERVISOR],
        ok=(200,),
    )


def test_hold_api_permission_matrix(footage):
    camera, segments = footage
    hold = _manual(camera, segments[0].started_at, segments[0].ended_at)
    readers = [Role.SUPERVISOR, Role.DPO]
    check_matrix(url="/api/holds/", allowed=readers, api=True)
    check_matrix(url=f"/api/holds/{hold.pk}/", allowed=readers, api=True)
    check_matrix(
        url="/api/holds/",
        method="post",
        api=True,
        allowed=[Role.SUPERVISOR],
        data={
            "camera": camera.code,
            "starts_at": segments[1].started_at.isoformat(),
            "ends_at": segments[1].ended_at.isoformat(),
            "reason": "Vol à l'arraché",
            "justification": "Victime venue déposer plainte ce matin.",
            "case_reference": "PV 2026/000801",
            "expires_at": (timezone.now() + timedelta(days=20)).isoformat(),
        },
        ok=(201,),
    )
    check_matrix(
        url=f"/api/holds/{hold.pk}/renew/",
        method="post",
        api=True,
        allowed=[Role.SUPERVISOR],
        data={"expires_at": "", "justification": ""},
        ok=(400,),
    )
    check_matrix(
        url=f"/api/holds/{hold.pk}/release/",
        method="post",
        api=True,
        allowed=[Role.SUPERVISOR],
        data={"reason": "Plus nécessaire"},
        ok=(200, 409),  # the first release succeeds, the second is refused
    )


def test_supervisor_places_and_lifts_a_manual_hold_through_the_pages(
    footage, supervisor, signed_in
):
    camera, segments = footage
    client = signed_in(supervisor)
    local = timezone.localtime
    response = client.post(
        "/conservation/gels/nouveau/",
        {
            "camera": camera.code,
            "starts_at": f"{local(segments[0].started_at):%Y-%m-%dT%H:%M}",
            "ends_at": f"{local(segments[2].ended_at) + timedelta(minutes=1):%Y-%m-%dT%H:%M}",
            "reason": "Incendie de véhicule",
            "justification": "Images utiles à l'enquête des pompiers.",
            "case_reference": "Procédure SDIS 2026-118",
            "expires_on": f"{timezone.localdate() + timedelta(days=10):%Y-%m-%d}",
        },
    )
    hold = Hold.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/gels/{hold.pk}/")
    assert hold.created_by == supervisor and hold.basis == Hold.Basis.MANUAL
    page = client.get(f"/conservation/gels/{hold.pk}/")
    assert "Lever le gel" in page.content.decode()
    client.post(f"/conservation/gels/{hold.pk}/lever/", {"reason": "Erreur de saisie"})
    hold.refresh_from_db()
    assert hold.released_at is not None


def test_the_hold_form_shows_the_destruction_date_when_footage_is_gone(supervisor, signed_in):
    now = timezone.now()
    camera = make_camera("CAM-H4", retention_days=15)
    segments = record_segments(camera, now - timedelta(days=16), 1)
    purge.purge_run(now=now)
    response = signed_in(supervisor).post(
        "/conservation/gels/nouveau/",
        {
            "camera": camera.code,
            "starts_at": f"{timezone.localtime(segments[0].started_at):%Y-%m-%dT%H:%M}",
            "ends_at": f"{timezone.localtime(segments[0].ended_at):%Y-%m-%dT%H:%M}",
            "reason": "Rixe",
            "justification": "Demande tardive",
            "case_reference": "PV 2026/000990",
            "expires_on": f"{timezone.localdate() + timedelta(days=10):%Y-%m-%d}",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200
    assert "ont été détruites le" in response.content.decode()
    assert not Hold.objects.exists()
