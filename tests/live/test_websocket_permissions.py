"""The live WebSocket's permission matrix, and viewing sessions as audit events.

The HTTP helper (tests/permissions.py) cannot open a WebSocket: these tests open the real ASGI
application's socket with each kind of visitor's session cookie.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django.utils import timezone

from accounts.actors import SystemActor
from accounts.roles import Role
from accounts.services import habilitation_revoke, training_record
from audit.models import AuditEvent
from live.models import EndReason, ViewingSession
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory
from tests.live.helpers import communicator, messages_until, outcome, session_cookie
from tests.permissions import make_person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_live")]


@pytest.fixture
def camera(clips):
    return CameraFactory(code="CAM-L01", sector="Gare", stream_url=clips["motion"].as_uri())


def attempt(code: str, cookie: str | None, origin: str = "http://127.0.0.1:8000") -> int | None:
    async def scenario():
        comm = communicator(code, cookie, origin)
        result = await outcome(comm)
        await comm.disconnect()
        return result

    return async_to_sync(scenario)()


def test_anonymous_is_refused(camera):
    assert attempt(camera.code, None) == 4401


def test_each_role_with_a_live_habilitation_on_every_camera(camera):
    for role in Role.values:
        person = make_person(role)
        HabilitationFactory(user=person, all_cameras=True, can_live=True)
        # The Police nationale's station: refused, this camera is not in the city's agreement
        # (a listed one opens: test_police_station.py).
        expected = None if role in (Role.OPERATOR, Role.SUPERVISOR) else 4403
        assert attempt(camera.code, session_cookie(person)) == expected, role


def test_signed_in_without_the_second_factor_is_refused(camera):
    person = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=person, all_cameras=True, can_live=True)
    half = Client()
    half.force_login(person)
    assert attempt(camera.code, half.cookies["sessionid"].value) == 4401


def test_operator_without_a_live_habilitation_on_that_camera_is_refused(camera):
    person = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=person, camera_codes=["CAM-OTHER"], can_live=True)
    HabilitationFactory(user=person, all_cameras=True, can_live=False, can_replay=True)
    assert attempt(camera.code, session_cookie(person)) == 4403
    assert not ViewingSession.objects.exists()


def test_unknown_camera_is_not_found(operator):
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    assert attempt("CAM-NOPE", session_cookie(operator)) == 4404


def test_another_site_cannot_open_a_stream_with_the_operators_cookie(camera, operator):
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    assert attempt(camera.code, session_cookie(operator), origin="https://evil.example") == 403


def test_a_session_is_one_audit_event_with_start_end_and_station(camera, operator):
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    cookie = session_cookie(operator)

    async def scenario():
        comm = communicator(camera.code, cookie)
        assert await outcome(comm) is None
        # Frames flow: a configuration, then H.264 access units.
        await messages_until(comm, lambda m: isinstance(m, bytes), timeout=15)
        await messages_until(comm, lambda m: isinstance(m, bytes), timeout=5)
        await comm.disconnect()

    async_to_sync(scenario)()
    [session] = ViewingSession.objects.all()
    assert session.user == operator and session.camera == camera
    assert session.ended_at and session.end_reason == EndReason.CLOSED
    [event] = AuditEvent.objects.filter(action="live.session")
    assert event.actor_id == operator.pk and event.target_label.startswith("CAM-L01")
    assert event.details["started_at"].endswith("Z") and event.details["ended_at"].endswith("Z")
    assert event.details["seconds"] >= 0
    assert event.details["end"] == EndReason.CLOSED
    assert event.details["station_ip"] == session.station_ip == "127.0.0.1"


def test_revoking_the_habilitation_stops_the_stream_within_seconds(camera, admin_user):
    operator = UserFactory(role=Role.OPERATOR)
    habilitation = HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    cookie = session_cookie(operator)

    async def scenario():
        comm = communicator(camera.code, cookie)
        assert await outcome(comm) is None
        await messages_until(comm, lambda m: isinstance(m, bytes), timeout=15)
        await _revoke(habilitation, admin_user)
        seen = await messages_until(
            comm, lambda m: isinstance(m, dict) and "closed" in m, timeout=5
        )
        assert {"type": "ended", "reason": EndReason.REVOKED} in seen
        assert seen[-1] == {"closed": 4403}

    async_to_sync(scenario)()
    [session] = ViewingSession.objects.all()
    assert session.end_reason == EndReason.REVOKED
    [event] = AuditEvent.objects.filter(action="live.session")
    assert event.details["end"] == EndReason.REVOKED


def test_signing_out_stops_the_stream(camera, operator):
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    client = Client()
    sign_in(client, operator)
    cookie = client.cookies["sessionid"].value

    async def scenario():
        comm = communicator(camera.code, cookie)
        assert await outcome(comm) is None
        await messages_until(comm, lambda m: isinstance(m, bytes), timeout=15)
        await _logout(client)
        seen = await messages_until(
            comm, lambda m: isinstance(m, dict) and "closed" in m, timeout=5
        )
        assert {"type": "ended", "reason": EndReason.SIGNED_OUT} in seen

    async_to_sync(scenario)()
    assert ViewingSession.objects.get().end_reason == EndReason.SIGNED_OUT


async def _revoke(habilitation, admin):
    await sync_to_async(habilitation_revoke, thread_sensitive=False)(
        habilitation=habilitation, actor=admin, reason="Fin de contrat"
    )


async def _logout(client):
    await sync_to_async(client.post, thread_sensitive=False)("/comptes/logout/")


def test_an_operator_whose_training_lapsed_is_refused_then_admitted_after_a_refresher(camera):
    """CSI L255-1: no live image without a training in force, whatever the habilitation says."""
    person = make_person(Role.OPERATOR)
    HabilitationFactory(
        user=person,
        all_cameras=True,
        can_live=True,
        last_training_on=timezone.localdate() - timedelta(days=3 * 365 + 1),
    )
    assert attempt(camera.code, session_cookie(person)) == 4403
    training_record(user=person, held_on=timezone.localdate(), actor=SystemActor("tests"))
    assert attempt(camera.code, session_cookie(person)) is None
