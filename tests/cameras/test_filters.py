"""The register's filters: the page and the API take the same values and refuse the same ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cameras.models import CameraStatus
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.filtering import assert_refused_alike

pytestmark = pytest.mark.django_db

UNKNOWN_CHOICE = "Sélectionnez un choix valide. {value} n’en fait pas partie."


def _page_codes(client, params) -> list[str]:
    response = client.get("/cameras/", params)
    assert response.status_code == 200
    assert not response.context["form"].errors
    return [camera.code for camera in response.context["page"].object_list]


def _api_codes(client, params) -> list[str]:
    response = client.get("/api/cameras/", params)
    assert response.status_code == 200, response.content
    return [camera["code"] for camera in response.json()["results"]]


@pytest.fixture
def register():
    expired = AuthorizationFactory(
        number="ARRETE-ANCIEN",
        issued_on=timezone.localdate() - timedelta(days=2000),
        expires_on=timezone.localdate() - timedelta(days=3),
    )
    CameraFactory(code="CAM-GARE", sector="Gare", authorization=expired)
    CameraFactory(code="CAM-HALLES", sector="Centre-ville", status=CameraStatus.MAINTENANCE)
    CameraFactory(code="CAM-PARC", sector="Centre-ville")
    return expired


@pytest.mark.parametrize(
    ("params", "codes"),
    [
        ({"status": "maintenance"}, ["CAM-HALLES"]),
        ({"sector": "Gare"}, ["CAM-GARE"]),
        ({"q": "parc"}, ["CAM-PARC"]),
        ({"flag": "authorization"}, ["CAM-GARE"]),
        ({"sector": "Centre-ville", "status": "active"}, ["CAM-PARC"]),
    ],
)
def test_page_and_api_filter_alike(signed_in, dpo, register, params, codes):
    client = signed_in(dpo)
    assert _page_codes(client, params) == _api_codes(client, params) == codes


def test_authorization_parameter_lists_its_cameras(signed_in, dpo, register):
    client = signed_in(dpo)
    params = {"authorization": str(register.pk)}
    assert _page_codes(client, params) == _api_codes(client, params) == ["CAM-GARE"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "broken"}, "status", UNKNOWN_CHOICE.format(value="broken")),
        ({"kind": "drone"}, "kind", UNKNOWN_CHOICE.format(value="drone")),
        ({"health_status": "fine"}, "health_status", UNKNOWN_CHOICE.format(value="fine")),
        ({"flag": "everything"}, "flag", UNKNOWN_CHOICE.format(value="everything")),
        ({"sector": "Lune"}, "sector", UNKNOWN_CHOICE.format(value="Lune")),
        (
            {"authorization": "ARRETE-ANCIEN"},
            "authorization",
            "Indiquez le numéro (identifiant) de l'autorisation.",
        ),
        (
            {"authorization": "-4"},
            "authorization",
            "Indiquez le numéro (identifiant) de l'autorisation.",
        ),
    ],
)
def test_bad_value_is_refused_alike(signed_in, dpo, register, params, field, message):
    assert_refused_alike(signed_in(dpo), "/cameras/", "/api/cameras/", params, field, message)


def test_api_no_longer_ignores_a_value_the_page_refuses(signed_in, dpo, register):
    """An unknown state used to list the whole register through the API."""
    response = signed_in(dpo).get("/api/cameras/", {"status": "en-panne"})
    assert response.status_code == 400
    assert response.json() == {"status": [UNKNOWN_CHOICE.format(value="en-panne")]}


def test_refused_page_still_lists_the_register(signed_in, dpo, register):
    response = signed_in(dpo).get("/cameras/", {"status": "broken"})
    assert len(response.context["page"].object_list) == 3


def _numbers(client, url, params) -> list[str]:
    response = client.get(url, params)
    assert response.status_code == 200
    if url.startswith("/api/"):
        return [a["number"] for a in response.json()["results"]]
    assert not response.context["form"].errors
    return [a.number for a in response.context["authorizations"]]


@pytest.mark.parametrize(
    ("params", "numbers"),
    [
        ({"state": "expired"}, ["ARRETE-ANCIEN"]),
        ({"state": "expiring"}, ["ARRETE-PROCHE"]),
        ({"state": "valid", "q": "arrete"}, ["ARRETE-PROCHE", "ARRETE-RECENT"]),
        ({"q": "recent"}, ["ARRETE-RECENT"]),
    ],
)
def test_authorizations_filter_alike(signed_in, dpo, register, params, numbers):
    today = timezone.localdate()
    AuthorizationFactory(
        number="ARRETE-PROCHE",
        issued_on=today - timedelta(days=1700),
        expires_on=today + timedelta(days=30),
    )
    AuthorizationFactory(number="ARRETE-RECENT")
    client = signed_in(dpo)
    on_page = _numbers(client, "/cameras/autorisations/", params)
    assert on_page == _numbers(client, "/api/authorizations/", params) == numbers


def test_authorization_bad_state_is_refused_alike(signed_in, dpo, register):
    assert_refused_alike(
        signed_in(dpo),
        "/cameras/autorisations/",
        "/api/authorizations/",
        {"state": "perimee"},
        "state",
        UNKNOWN_CHOICE.format(value="perimee"),
    )
