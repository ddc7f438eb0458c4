"""People and habilitation filters: the pages and the API take and refuse the same values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from tests.factories import HabilitationFactory, UserFactory
from tests.filtering import assert_refused_alike

pytestmark = pytest.mark.django_db

UNKNOWN_CHOICE = "Sélectionnez un choix valide. {value} n’en fait pas partie."


@pytest.fixture
def people(police_service):
    return {
        "opj": UserFactory(username="opj.dupont", role=Role.OPJ, service=police_service),
        "present": UserFactory(username="operateur.actif", role=Role.OPERATOR),
        "gone": UserFactory(username="operateur.parti", role=Role.OPERATOR, is_active=False),
    }


def _usernames(client, params) -> tuple[set[str], set[str]]:
    page = client.get("/comptes/utilisateurs/", params)
    assert page.status_code == 200
    assert not page.context["form"].errors
    api = client.get("/api/users/", params)
    assert api.status_code == 200, api.content
    return (
        {u.username for u in page.context["page"].object_list},
        {u["username"] for u in api.json()["results"]},
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"role": "operator"}, {"operateur.actif", "operateur.parti"}),
        ({"role": "operator", "active": "1"}, {"operateur.actif"}),
        ({"active": "0"}, {"operateur.parti"}),
        ({"q": "dupont"}, {"opj.dupont"}),
    ],
)
def test_users_filter_alike(signed_in, admin_user, people, params, expected):
    on_page, on_api = _usernames(signed_in(admin_user), params)
    assert on_page == on_api == expected


def test_users_filter_by_service_alike(signed_in, admin_user, people, police_service):
    on_page, on_api = _usernames(signed_in(admin_user), {"service": str(police_service.pk)})
    assert on_page == on_api == {"opj.dupont"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"role": "chef"}, "role", UNKNOWN_CHOICE.format(value="chef")),
        ({"active": "oui"}, "active", UNKNOWN_CHOICE.format(value="oui")),
        (
            {"service": "999999"},
            "service",
            "Sélectionnez un choix valide. Ce choix ne fait pas partie de ceux disponibles.",
        ),
        (
            {"q": "x" * 151},
            "q",
            "Assurez-vous que cette valeur comporte au plus 150 caractères (actuellement 151).",
        ),
    ],
)
def test_users_bad_value_is_refused_alike(signed_in, dpo, people, params, field, message):
    client = signed_in(dpo)
    assert_refused_alike(client, "/comptes/utilisateurs/", "/api/users/", params, field, message)


@pytest.fixture
def habilitations():
    today = timezone.localdate()
    HabilitationFactory(decision_reference="VALIDE")
    HabilitationFactory(decision_reference="BIENTOT", valid_until=today + timedelta(days=10))
    HabilitationFactory(
        decision_reference="EXPIREE",
        valid_from=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )
    HabilitationFactory(
        decision_reference="RETIREE", revoked_at=timezone.now(), revocation_reason="mutation"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "valid"}, {"VALIDE", "BIENTOT"}),
        ({"state": "expiring"}, {"BIENTOT"}),
        ({"state": "expired"}, {"EXPIREE"}),
        ({"state": "revoked"}, {"RETIREE"}),
        ({"q": "bient"}, {"BIENTOT"}),
        ({}, {"VALIDE", "BIENTOT", "EXPIREE", "RETIREE"}),
    ],
)
def test_habilitations_filter_alike(signed_in, dpo, habilitations, params, expected):
    client = signed_in(dpo)
    page = client.get("/comptes/habilitations/", params)
    assert not page.context["form"].errors
    api = client.get("/api/habilitations/", params)
    assert api.status_code == 200, api.content
    assert {h.decision_reference for h, _state in page.context["rows"]} == expected
    assert {h["decision_reference"] for h in api.json()["results"]} == expected


def test_habilitations_bad_state_is_refused_alike(signed_in, dpo, habilitations):
    assert_refused_alike(
        signed_in(dpo),
        "/comptes/habilitations/",
        "/api/habilitations/",
        {"state": "suspendue"},
        "state",
        UNKNOWN_CHOICE.format(value="suspendue"),
    )
