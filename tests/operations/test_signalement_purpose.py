"""A signalement pursues a CSI L251-2 purpose that its cameras' authorizations list."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from cameras.purposes import Purpose
from operations import services
from operations.models import Category, Signalement
from tests.cameras.factories import AuthorizationFactory, CameraFactory

NOW = "%Y-%m-%dT%H:%M"
PAGE = "/exploitation/signalements/nouveau/"
API = "/api/operations/signalements/"


def _rescue_only_camera(code: str = "CAM-PONT"):
    """A camera whose arrêté allows only rescue and fire (L251-2 8°)."""
    return CameraFactory(
        code=code,
        authorization=AuthorizationFactory(number="73-SECOURS", purposes=[Purpose.RESCUE_AND_FIRE]),
    )


@pytest.mark.django_db
def test_a_signalement_whose_purpose_the_cameras_arrete_lacks_is_refused(operator):
    _rescue_only_camera()
    with pytest.raises(ValidationError) as refused:
        services.signalement_create(
            actor=operator,
            category=Category.CRIME,
            occurred_at=timezone.now(),
            location="Pont",
            description="Vol à l'arraché.",
            cameras=services.cameras_from_codes(["CAM-PONT"]),
        )
    message = " ".join(refused.value.message_dict["cameras"])
    assert "CAM-PONT" in message and "73-SECOURS" in message and "L251-2 5°" in message
    assert not Signalement.objects.exists()
    assert not AuditEvent.objects.filter(action="signalement.created").exists()


@pytest.mark.django_db
def test_the_quick_entry_page_refuses_it_in_french(operator, signed_in):
    _rescue_only_camera()
    response = signed_in(operator).post(
        PAGE,
        {
            "category": Category.TRAFFIC,
            "location": "Pont",
            "description": "Feu rouge grillé.",
            "cameras": "CAM-PONT",
            "occurred_at": timezone.localtime().strftime(NOW),
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "n&#x27;est pas autorisée pour la caméra CAM-PONT" in page
    assert "73-SECOURS" in page
    assert not Signalement.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_it_with_a_precise_error(operator, signed_in):
    _rescue_only_camera()
    response = signed_in(operator).post(
        API,
        {
            "category": "ordre_public",
            "location": "Pont",
            "description": "Rixe.",
            "cameras": ["CAM-PONT"],
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "CAM-PONT" in " ".join(response.json()["cameras"])
    assert not Signalement.objects.exists()


@pytest.mark.django_db
def test_a_category_records_its_own_purpose_and_the_trail_names_it(operator, signed_in):
    _rescue_only_camera()
    response = signed_in(operator).post(
        API,
        {
            "category": "incendie",
            "location": "Pont",
            "description": "Feu.",
            "cameras": ["CAM-PONT"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["purpose"] == "secours_incendie"
    assert response.json()["purpose_label"].startswith("L251-2 8°")
    signalement = Signalement.objects.get()
    assert signalement.purpose == Purpose.RESCUE_AND_FIRE
    event = AuditEvent.objects.get(action="signalement.created")
    assert event.details["purpose"] == "secours_incendie"
    assert "Secours aux personnes" in event.reason


@pytest.mark.django_db
def test_other_needs_a_purpose_named_and_listed(operator, signed_in):
    _rescue_only_camera()
    client = signed_in(operator)
    body = {
        "category": "autre",
        "location": "Pont",
        "description": "Dépôt.",
        "cameras": ["CAM-PONT"],
    }
    missing = client.post(API, body, content_type="application/json")
    assert missing.status_code == 400
    assert "choisissez la finalité" in " ".join(missing.json()["purpose"])
    unlisted = client.post(
        API, {**body, "purpose": "abandon_dechets"}, content_type="application/json"
    )
    assert unlisted.status_code == 400 and "CAM-PONT" in " ".join(unlisted.json()["cameras"])
    page = client.post(
        PAGE,
        {**body, "cameras": "CAM-PONT", "occurred_at": timezone.localtime().strftime(NOW)},
    )
    assert page.status_code == 200 and "choisissez la finalité" in page.content.decode()
    assert not Signalement.objects.exists()
    listed = client.post(
        API, {**body, "purpose": "secours_incendie"}, content_type="application/json"
    )
    assert listed.status_code == 201
    assert Signalement.objects.get().purpose == "secours_incendie"


@pytest.mark.django_db
def test_a_category_cannot_claim_another_purpose(operator, signed_in):
    CameraFactory(code="CAM-GARE")
    response = signed_in(operator).post(
        API,
        {
            "category": "delinquance",
            "purpose": "flux_transport",
            "location": "Gare",
            "description": "Vol.",
            "cameras": ["CAM-GARE"],
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "L251-2 5°" in " ".join(response.json()["purpose"])
    assert not Signalement.objects.exists()
