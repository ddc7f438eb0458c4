"""No self-escalation through the API: it applies the guards of the pages, from the services.

Each test acts as the attacker does: an API token obtained the ordinary way, then the request
that the pages would refuse. Nothing may be saved, and the answer is a precise JSON error.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Habilitation
from accounts.roles import Role
from audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


def api_client(user) -> Client:
    """A client holding an API token, as a script would."""
    response = sign_in(Client(), user).post("/api/auth/token/")
    assert response.status_code == 201, response.content
    return Client(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")


def grant(holder, **rights) -> dict:
    today = timezone.localdate()
    return {
        "user": holder.pk,
        "decision_reference": "ARR-2026-0666",
        "issuer": "Maire de Chambéry",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "all_cameras": True,
        **rights,
    }


def changes(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_admin_cannot_change_their_own_role_through_the_api(admin_user):
    response = api_client(admin_user).patch(
        f"/api/users/{admin_user.pk}/", {"role": Role.SUPERVISOR}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "propre rôle" in response.json()["role"][0]
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert changes("account.role_changed") == 0


def test_admin_cannot_deactivate_themselves_through_the_api(admin_user):
    response = api_client(admin_user).patch(
        f"/api/users/{admin_user.pk}/", {"is_active": False}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "propre compte" in response.json()["is_active"][0]
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert changes("account.deactivated") == 0


def test_admin_cannot_set_their_own_password_through_the_api_without_the_old_one(admin_user):
    before = admin_user.password
    response = api_client(admin_user).patch(
        f"/api/users/{admin_user.pk}/",
        {"password": "Un-nouveau-mot-de-passe-2026"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "password" in response.json()
    admin_user.refresh_from_db()
    assert admin_user.password == before


def test_a_role_change_and_a_password_in_one_request_save_nothing(admin_user):
    """The password step fails on the admin's own account: the role step must roll back too."""
    other = UserFactory(role=Role.OPERATOR)
    client = api_client(admin_user)
    ok = client.patch(
        f"/api/users/{other.pk}/", {"role": Role.SUPERVISOR}, content_type="application/json"
    )
    assert ok.status_code == 200  # another administrator's decision is allowed
    refused = client.patch(
        f"/api/users/{admin_user.pk}/",
        {"first_name": "Moi", "password": "Un-nouveau-mot-de-passe-2026"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.first_name != "Moi"


def test_admin_cannot_grant_themselves_a_habilitation(admin_user):
    response = api_client(admin_user).post(
        "/api/habilitations/", grant(admin_user, can_live=True), content_type="application/json"
    )
    assert response.status_code == 400
    assert "propre habilitation" in response.json()["user"][0]
    assert not Habilitation.objects.filter(user=admin_user).exists()


def test_admin_cannot_widen_a_habilitation_of_their_own(admin_user):
    """A habilitation from an earlier post stays theirs: they may not widen it themselves."""
    mine = HabilitationFactory(user=admin_user, can_live=True)
    response = api_client(admin_user).patch(
        f"/api/habilitations/{mine.pk}/",
        {"can_replay": True, "can_extract": True},
        content_type="application/json",
    )
    assert response.status_code == 400
    mine.refresh_from_db()
    assert not (mine.can_replay or mine.can_extract)
    assert changes("habilitation.updated") == 0


def test_a_supervisor_cannot_grant_themselves_a_habilitation(supervisor):
    response = api_client(supervisor).post(
        "/api/habilitations/",
        grant(supervisor, can_live=True, can_replay=True),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Habilitation.objects.filter(user=supervisor).count() == 1  # the fixture's only


def test_habilitation_rights_beyond_the_holders_role_are_refused(admin_user):
    operator = UserFactory(role=Role.OPERATOR)
    client = api_client(admin_user)
    created = client.post(
        "/api/habilitations/",
        grant(operator, can_live=True, can_replay=True, can_extract=True),
        content_type="application/json",
    )
    assert created.status_code == 400
    assert "ne permet pas ce droit" in created.json()["non_field_errors"][0]
    assert not Habilitation.objects.filter(user=operator).exists()

    officer = UserFactory(role=Role.OPJ)  # an OPJ never sees images directly
    assert (
        client.post(
            "/api/habilitations/", grant(officer, can_live=True), content_type="application/json"
        ).status_code
        == 400
    )

    live_only = HabilitationFactory(user=operator, can_live=True)
    widened = client.patch(
        f"/api/habilitations/{live_only.pk}/",
        {"can_extract": True},
        content_type="application/json",
    )
    assert widened.status_code == 400
    live_only.refresh_from_db()
    assert not live_only.can_extract
    assert changes("habilitation.created") == changes("habilitation.updated") == 0


def test_no_habilitation_for_a_deactivated_account(admin_user):
    gone = UserFactory(role=Role.OPERATOR, is_active=False)
    response = api_client(admin_user).post(
        "/api/habilitations/", grant(gone, can_live=True), content_type="application/json"
    )
    assert response.status_code == 400
    assert not Habilitation.objects.filter(user=gone).exists()


def test_the_pages_and_the_api_give_the_same_answer(admin_user, signed_in):
    """The guard lives in the service: the page refuses with the same words."""
    page = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{admin_user.pk}/modifier/",
        {"first_name": "A", "last_name": "B", "role": Role.SUPERVISOR},
    )
    api = api_client(admin_user).patch(
        f"/api/users/{admin_user.pk}/", {"role": Role.SUPERVISOR}, content_type="application/json"
    )
    assert api.json()["role"][0] in page.content.decode().replace("&#x27;", "'")
