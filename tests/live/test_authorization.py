"""No live image of a camera without a prefectoral authorization in force (CSI L252-1)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.access import decide
from accounts.roles import Right, Role
from cameras.models import Authorization
from live import services
from live.models import EndReason
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor():
    user = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=user, all_cameras=True, can_replay=True)
    return user


def _noon(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=12))


def test_live_is_refused_with_the_reason_and_replay_of_past_footage_is_not(supervisor):
    today = timezone.localdate()
    authorization = AuthorizationFactory(
        number="A-2021", issued_on=today - timedelta(days=300), expires_on=today + timedelta(days=5)
    )
    camera = CameraFactory(authorization=authorization)
    assert decide(supervisor, Right.LIVE, camera)
    later = _noon(today + timedelta(days=6))
    decision = decide(supervisor, Right.LIVE, camera, at=later)
    assert not decision
    assert decision.reason == (
        "Pas de direct sans autorisation préfectorale en vigueur : Autorisation A-2021 expirée "
        f"le {authorization.expires_on:%d/%m/%Y}."
    )
    # Footage recorded while the authorization was in force may still be replayed.
    assert decide(supervisor, Right.REPLAY, camera, at=later)


def test_live_is_refused_for_a_camera_without_or_before_its_authorization(supervisor):
    today = timezone.localdate()
    bare = CameraFactory(authorization=None)
    assert decide(supervisor, Right.LIVE, bare).reason == (
        "Pas de direct sans autorisation préfectorale en vigueur : "
        "Aucune autorisation préfectorale."
    )
    future = AuthorizationFactory(
        number="A-2027", issued_on=today + timedelta(days=2), expires_on=today + timedelta(days=700)
    )
    early = CameraFactory(authorization=future)
    assert "en vigueur à partir du" in decide(supervisor, Right.LIVE, early).reason
    assert decide(supervisor, Right.LIVE, early, at=_noon(today + timedelta(days=2)))
    with pytest.raises(PermissionDenied, match="Aucune autorisation préfectorale"):
        services.live_session_open(camera=bare, actor=supervisor, station_ip="10.0.0.9")


def test_a_running_stream_ends_at_its_recheck_once_the_authorization_lapses(supervisor):
    camera = CameraFactory()
    session = services.live_session_open(camera=camera, actor=supervisor, station_ip="10.0.0.9")
    assert services.live_session_still_allowed(session=session) == (True, "")
    Authorization.objects.filter(pk=camera.authorization_id).update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )
    assert services.live_session_still_allowed(session=session) == (False, EndReason.REVOKED)
