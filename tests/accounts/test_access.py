"""accounts.access.decide: the one decision on access to images."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.access import decide, may, scope
from accounts.roles import Role
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db

CAMERA = SimpleNamespace(code="CAM-001", sector="centre-ville")


@pytest.fixture
def operator_user():
    return UserFactory(role=Role.OPERATOR)


@pytest.fixture
def supervisor_user():
    return UserFactory(role=Role.SUPERVISOR)


def test_without_habilitation_access_is_denied(operator_user):
    decision = decide(operator_user, "live", CAMERA)
    assert not decision
    assert decision.reason == "Aucune habilitation en cours de validité."


def test_expired_habilitation_denies(operator_user):
    today = timezone.localdate()
    HabilitationFactory(
        user=operator_user,
        all_cameras=True,
        valid_from=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )
    assert not decide(operator_user, "live", CAMERA)


def test_habilitation_not_yet_valid_denies(operator_user):
    HabilitationFactory(
        user=operator_user, all_cameras=True, valid_from=timezone.localdate() + timedelta(days=1)
    )
    assert not decide(operator_user, "live", CAMERA)


def test_revoked_habilitation_denies(operator_user):
    HabilitationFactory(user=operator_user, all_cameras=True, revoked_at=timezone.now())
    assert not decide(operator_user, "live", CAMERA)


def test_camera_code_out_of_scope_denies(operator_user):
    HabilitationFactory(user=operator_user, camera_codes=["CAM-002"])
    decision = decide(operator_user, "live", CAMERA)
    assert not decision
    assert decision.reason == "L'habilitation ne couvre pas cette caméra pour ce droit."
    assert decide(operator_user, "live", SimpleNamespace(code="CAM-002", sector="gare"))


def test_sector_out_of_scope_denies(operator_user):
    HabilitationFactory(user=operator_user, sectors=["gare"])
    assert not decide(operator_user, "live", CAMERA)
    assert decide(operator_user, "live", SimpleNamespace(code="CAM-077", sector="gare"))


def test_right_not_granted_denies(supervisor_user):
    HabilitationFactory(user=supervisor_user, all_cameras=True, can_live=True)
    assert decide(supervisor_user, "live", CAMERA)
    assert not decide(supervisor_user, "replay", CAMERA)
    assert not decide(supervisor_user, "extract", CAMERA)


@pytest.mark.parametrize(
    ("role", "right"),
    [
        (Role.OPERATOR, "replay"),
        (Role.OPERATOR, "extract"),
        (Role.DPO, "live"),
        (Role.ADMIN, "live"),
        (Role.OPJ, "replay"),
        (Role.MAGISTRATE, "live"),
    ],
)
def test_role_that_can_never_hold_the_right_is_denied_even_with_a_habilitation(role, right):
    user = UserFactory(role=role)
    HabilitationFactory(
        user=user, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    decision = decide(user, right, CAMERA)
    assert not decision
    assert decision.reason == "Ce rôle ne donne pas accès à ces images."


def test_valid_habilitation_allows(supervisor_user):
    habilitation = HabilitationFactory(
        user=supervisor_user, sectors=["centre-ville"], can_live=True, can_replay=True
    )
    decision = decide(supervisor_user, "replay", CAMERA)
    assert decision.allowed
    assert decision.habilitation == habilitation
    assert may(supervisor_user, "live", CAMERA)


def test_decision_at_a_past_time_uses_the_habilitation_valid_then(operator_user):
    today = timezone.localdate()
    HabilitationFactory(
        user=operator_user,
        all_cameras=True,
        valid_from=today - timedelta(days=60),
        valid_until=today - timedelta(days=30),
    )
    assert decide(operator_user, "live", CAMERA, at=timezone.now() - timedelta(days=45))
    assert not decide(operator_user, "live", CAMERA)


def test_inactive_or_anonymous_person_is_denied(operator_user):
    HabilitationFactory(user=operator_user, all_cameras=True)
    assert not decide(AnonymousUser(), "live", CAMERA)
    operator_user.is_active = False
    assert not decide(operator_user, "live", CAMERA)


def test_stale_training_denies_when_the_setting_requires_it(operator_user, settings):
    settings.TRAINING_VALIDITY_DAYS = 365
    HabilitationFactory(
        user=operator_user,
        all_cameras=True,
        last_training_on=timezone.localdate() - timedelta(days=400),
    )
    decision = decide(operator_user, "live", CAMERA)
    assert not decision and "L255-1" in decision.reason


def test_unknown_right_is_a_programming_error(operator_user):
    with pytest.raises(ValueError):
        decide(operator_user, "delete", CAMERA)


def test_scope_is_the_union_of_valid_habilitations(operator_user):
    HabilitationFactory(user=operator_user, sectors=["gare"], camera_codes=["CAM-001"])
    HabilitationFactory(user=operator_user, camera_codes=["CAM-009"], revoked_at=timezone.now())
    (grant,) = scope(operator_user, "live").grants
    assert grant.sectors == {"gare"} and grant.camera_codes == {"CAM-001"}
