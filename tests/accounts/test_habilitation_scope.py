"""Habilitations name sectors and cameras chosen from the register: the page offers them as
lists, and a sector or a camera the register does not know is refused, on the page with a
French message and in the API with a JSON error naming the field and the values."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Habilitation
from accounts.roles import Role
from audit.models import AuditEvent
from cameras.models import CameraStatus
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def register():
    return {
        "gare": CameraFactory(code="CAM-GARE", name="Parvis", sector="Gare"),
        "halles": CameraFactory(code="CAM-HALLES", name="Halles", sector="Centre-ville"),
        "gone": CameraFactory(
            code="CAM-DEPOSEE", sector="Faubourg", status=CameraStatus.DECOMMISSIONED
        ),
    }


def _form(**overrides) -> dict:
    today = timezone.localdate()
    data = {
        "decision_reference": "ARR-2026-0200",
        "issuer": "Maire de Chambéry",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "can_live": "on",
    }
    data.update(overrides)
    return data


def _api(user) -> Client:
    response = sign_in(Client(), user).post("/api/auth/token/")
    assert response.status_code == 201, response.content
    return Client(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")


def test_the_form_offers_the_register_sectors_and_cameras(signed_in, admin_user, register):
    page = signed_in(admin_user).get("/comptes/habilitations/nouvelle/").content.decode()
    assert 'type="checkbox" name="sectors" value="Gare"' in page
    assert 'type="checkbox" name="sectors" value="Centre-ville"' in page
    assert '<select name="camera_codes"' in page and "multiple" in page
    assert '<option value="CAM-GARE">CAM-GARE — Parvis (Gare)</option>' in page
    # A camera taken out of service, and its sector, are not offered.
    assert "CAM-DEPOSEE" not in page and 'value="Faubourg"' not in page


def test_the_page_grants_what_was_picked(signed_in, admin_user, register):
    holder = UserFactory(role=Role.OPERATOR)
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/",
        _form(user=holder.pk, sectors=["Gare"], camera_codes=["CAM-HALLES"]),
    )
    assert response.status_code == 302
    habilitation = Habilitation.objects.get(user=holder)
    assert habilitation.sectors == ["Gare"] and habilitation.camera_codes == ["CAM-HALLES"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sectors", "Gare du Nord", "Secteur inconnu du registre des caméras : « Gare du Nord »."),
        (
            "camera_codes",
            "CAM-999",
            "Caméra inconnue du registre (ou retirée du service) : « CAM-999 ».",
        ),
        (
            "camera_codes",
            "CAM-DEPOSEE",
            "Caméra inconnue du registre (ou retirée du service) : « CAM-DEPOSEE ».",
        ),
    ],
)
def test_the_page_refuses_what_the_register_does_not_know(
    signed_in, admin_user, register, field, value, message
):
    holder = UserFactory(role=Role.OPERATOR)
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/", _form(user=holder.pk, **{field: value})
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not Habilitation.objects.exists()
    assert not AuditEvent.objects.filter(action="habilitation.created").exists()


def test_the_api_refuses_unknown_values_with_a_precise_error(admin_user, register):
    holder = UserFactory(role=Role.OPERATOR)
    body = {
        "user": holder.pk,
        "decision_reference": "ARR-2026-0201",
        "issuer": "Maire",
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
        "sectors": ["Gare", "Port"],
        "camera_codes": ["CAM-GARE", "CAM-404", "CAM-DEPOSEE"],
        "can_live": True,
    }
    response = _api(admin_user).post(
        "/api/habilitations/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "sectors": ["Secteur inconnu du registre des caméras : « Port »."],
        "camera_codes": [
            "Caméra inconnue du registre (ou retirée du service) : « CAM-404 », « CAM-DEPOSEE »."
        ],
    }
    assert not Habilitation.objects.exists()


def test_a_camera_taken_out_of_service_stays_until_removed(signed_in, admin_user, register):
    holder = UserFactory(role=Role.OPERATOR)
    habilitation = HabilitationFactory(user=holder, camera_codes=["CAM-DEPOSEE", "CAM-GARE"])
    client = signed_in(admin_user)
    page = client.get(f"/comptes/habilitations/{habilitation.pk}/modifier/").content.decode()
    # Shown, and selected, so that the administrator sees it and can remove it.
    assert '<option value="CAM-DEPOSEE" selected>CAM-DEPOSEE (inconnu du registre)</option>' in page
    assert '<option value="CAM-GARE" selected>' in page
    # Changing the end of validity alone keeps it (the API likewise).
    api = _api(admin_user)
    response = api.patch(
        f"/api/habilitations/{habilitation.pk}/",
        json.dumps({"valid_until": "2031-01-31"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    # Adding an unknown one is refused.
    response = api.patch(
        f"/api/habilitations/{habilitation.pk}/",
        json.dumps({"camera_codes": ["CAM-DEPOSEE", "CAM-GARE", "CAM-404"]}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "« CAM-404 »" in response.json()["camera_codes"][0]
    # Unticking it on the page removes it.
    response = client.post(
        f"/comptes/habilitations/{habilitation.pk}/modifier/", _form(camera_codes=["CAM-GARE"])
    )
    assert response.status_code == 302
    habilitation.refresh_from_db()
    assert habilitation.camera_codes == ["CAM-GARE"]
