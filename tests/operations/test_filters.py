"""The signalements' filters: the page and the API take the same values and refuse the same ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from operations import services
from operations.models import AlertedService, Category
from tests.cameras.factories import CameraFactory
from tests.filtering import assert_refused_alike

pytestmark = pytest.mark.django_db

PAGE = "/exploitation/signalements/"
API = "/api/operations/signalements/"


@pytest.fixture
def signalements(operator):
    camera = CameraFactory(code="CAM-PALAIS")
    fire = services.signalement_create(
        actor=operator,
        category=Category.FIRE,
        occurred_at=timezone.now() - timedelta(days=3),
        location="Rue Favre",
        description="Poubelle en feu.",
        cameras=[camera],
        services=[AlertedService.FIRE_BRIGADE],
    )
    crash = services.signalement_create(
        actor=operator,
        category=Category.ACCIDENT,
        occurred_at=timezone.now(),
        location="Parc du Verney",
        description="Collision.",
    )
    return {"fire": fire.number, "crash": crash.number}


def _numbers(client, params) -> tuple[list[str], list[str]]:
    page = client.get(PAGE, params)
    assert page.status_code == 200
    assert not page.context["form"].errors
    api = client.get(API, params)
    assert api.status_code == 200, api.content
    return (
        [s.number for s in page.context["page"].object_list],
        [s["number"] for s in api.json()["results"]],
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": Category.FIRE}, ["fire"]),
        ({"camera": "cam-palais"}, ["fire"]),
        ({"service": AlertedService.FIRE_BRIGADE}, ["fire"]),
        ({"q": "verney"}, ["crash"]),
        ({"state": "open"}, ["crash", "fire"]),
        ({"state": "closed"}, []),
        ({"start": "{today}"}, ["crash"]),
        ({"end": "{three_days_ago}"}, ["fire"]),
    ],
)
def test_page_and_api_filter_alike(signed_in, operator, signalements, params, expected):
    today = timezone.localdate()
    days = {"today": today, "three_days_ago": today - timedelta(days=3)}
    params = {name: value.format(**days) for name, value in params.items()}
    on_page, on_api = _numbers(signed_in(operator), params)
    assert on_page == on_api == [signalements[key] for key in expected]


def test_number_search(signed_in, operator, signalements):
    on_page, on_api = _numbers(signed_in(operator), {"q": signalements["fire"]})
    assert on_page == on_api == [signalements["fire"]]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"category": "meteo"},
            "category",
            "Sélectionnez un choix valide. meteo n’en fait pas partie.",
        ),
        (
            {"state": "ouvert"},
            "state",
            "Sélectionnez un choix valide. ouvert n’en fait pas partie.",
        ),
        ({"start": "hier"}, "start", "Date invalide : écrivez JJ/MM/AAAA."),
        (
            {"start": "2026-05-10", "end": "2026-05-01"},
            "end",
            "La fin de la période précède son début.",
        ),
        (
            {"camera": "C" * 41},
            "camera",
            "Assurez-vous que cette valeur comporte au plus 40 caractères (actuellement 41).",
        ),
    ],
)
def test_bad_value_is_refused_alike(signed_in, operator, signalements, params, field, message):
    assert_refused_alike(signed_in(operator), PAGE, API, params, field, message)


def test_refused_filter_gives_no_csv(signed_in, operator, signalements):
    response = signed_in(operator).get(PAGE, {"state": "ouvert", "format": "csv"})
    assert response["Content-Type"].startswith("text/html")
