"""The audit trail's search: the DPO's page, its exports and the API take the same parameters."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from audit.services import record
from tests.factories import UserFactory
from tests.filtering import assert_refused_alike

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail():
    somebody = UserFactory(username="agent.martin", first_name="Luc", last_name="Martin")
    record("auth.login", actor=somebody, target_type="accounts.user", target_label="agent.martin")
    record(
        "auth.login_failed",
        actor=None,
        target_type="accounts.user",
        target_label="inconnu",
    )
    record(
        "camera.snapshot_viewed",
        actor=somebody,
        target_type="cameras.camera",
        target_label="CAM-GARE",
    )
    record(
        "rota.slot_added",
        actor=somebody,
        target_type="operations.rotaslot",
        target_label="Hôtel de ville",
        reason="Vérification après l'incendie",
    )


def _labels(client, params) -> tuple[list[str], list[str]]:
    page = client.get("/audit/", params)
    assert page.status_code == 200
    assert not page.context["form"].errors
    api = client.get("/api/audit/events/", params)
    assert api.status_code == 200, api.content
    return (
        [e.target_label for e in page.context["page"].object_list],
        [e["target_label"] for e in api.json()["results"]],
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "camera.snapshot_viewed"}, ["CAM-GARE"]),
        ({"action": "auth"}, ["inconnu", "agent.martin"]),
        ({"target": "cam-gare"}, ["CAM-GARE"]),
        # Accents and case ignored, on the page and in the API alike.
        ({"target": "HOTEL DE"}, ["Hôtel de ville"]),
        ({"reason": "verification apres"}, ["Hôtel de ville"]),
    ],
)
def test_page_and_api_search_alike(signed_in, dpo, trail, params, expected):
    on_page, on_api = _labels(signed_in(dpo), params)
    assert on_page == on_api
    known = ("CAM-GARE", "inconnu", "agent.martin", "Hôtel de ville")
    assert [label for label in on_page if label in known] == expected


@pytest.mark.parametrize(
    "written",
    [
        lambda moment: timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M"),
        lambda moment: moment.isoformat(),  # ISO 8601 with its offset, as API clients write it
        lambda moment: moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ],
)
def test_period_search_alike(signed_in, dpo, trail, written):
    client = signed_in(dpo)
    yesterday = timezone.now() - timedelta(days=1)
    assert _labels(client, {"until": written(yesterday)}) == ([], [])
    on_page, on_api = _labels(client, {"since": written(yesterday)})
    assert on_page == on_api and "CAM-GARE" in on_page


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"action": "camera.exploded"},
            "action",
            "Sélectionnez un choix valide. camera.exploded n’en fait pas partie.",
        ),
        ({"since": "hier"}, "since", "Saisissez une date et une heure valides."),
        (
            {"since": "2026-05-10T10:00", "until": "2026-05-10T09:00"},
            "until",
            "La fin de la période précède son début.",
        ),
    ],
)
def test_bad_value_is_refused_alike(signed_in, dpo, trail, params, field, message):
    assert_refused_alike(signed_in(dpo), "/audit/", "/api/audit/events/", params, field, message)


def test_refused_search_gives_no_export(signed_in, dpo, trail):
    response = signed_in(dpo).get("/audit/export.csv", {"action": "camera.exploded"})
    assert response.status_code == 400
    assert "camera.exploded n’en fait pas partie" in response.content.decode()
