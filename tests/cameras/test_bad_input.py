"""Bad input gets a precise French message on the page and a 400 in the API; nothing is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from cameras import secrets
from cameras.models import Authorization, Camera, PrivacyMask
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(signed_in, supervisor):
    return signed_in(supervisor)


def camera_body(clips, **overrides):
    body = {
        "code": "CAM-B01",
        "name": "Caméra",
        "sector": "Gare",
        "kind": "dome",
        "stream_url": clips["motion"].as_uri(),
        "authorization": AuthorizationFactory().pk,
        "retention_days": 10,
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"stream_url": "rtsp//camera/live"}, "stream_url", "mal formée"),
        ({"stream_url": "rtsp://cam era/live"}, "stream_url", "aucun espace"),
        ({"stream_url": "ftp://10.0.0.1/flux"}, "stream_url", "Protocole « ftp » non pris"),
        ({"stream_url": "rtsp://127.0.0.1:99999/x"}, "stream_url", "port"),
        ({"stream_url": "rtsp://127.0.0.1:1/live"}, "stream_url", "Source injoignable"),
        ({"stream_url": "file:///nulle/part.mp4"}, "stream_url", "Fichier vidéo introuvable"),
        ({"retention_days": 31}, "retention_days", "30 jours"),
        ({"retention_days": 20}, "retention_days", "ne peut dépasser celle de l'autorisation"),
        ({"kind": "drone"}, "kind", ""),
        ({"latitude": "123.5"}, "latitude", ""),
    ],
)
def test_api_refuses_bad_camera(api, clips, overrides, field, message):
    response = api.post(
        "/api/cameras/", camera_body(clips, **overrides), content_type="application/json"
    )
    assert response.status_code == 400, response.content
    errors = " ".join(response.json()[field])
    assert message in errors
    assert not Camera.objects.exists()


def test_api_refuses_expired_authorization_on_new_camera(api, clips):
    expired = AuthorizationFactory(
        issued_on=timezone.localdate() - timedelta(days=2000),
        expires_on=timezone.localdate() - timedelta(days=1),
    )
    response = api.post(
        "/api/cameras/",
        camera_body(clips, authorization=expired.pk),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "a expiré le" in " ".join(response.json()["authorization"])
    assert not Camera.objects.exists()


def test_page_shows_precise_message_and_saves_nothing(api, clips):
    body = camera_body(clips, stream_url="ftp://10.0.0.1/flux")
    body["status"] = "active"
    body["expected_fps"] = 12
    response = api.post("/cameras/nouvelle/", body)
    assert response.status_code == 200
    assert "Protocole « ftp » non pris en charge" in response.content.decode()
    assert not Camera.objects.exists()


def test_page_refuses_retention_above_authorization(api, clips):
    body = camera_body(clips, retention_days=25, status="active", expected_fps=12)
    response = api.post("/cameras/nouvelle/", body)
    assert "ne peut dépasser celle de l&#x27;autorisation" in response.content.decode()
    assert not Camera.objects.exists()


def test_page_creates_camera_and_never_shows_credentials_back(api, clips):
    body = camera_body(
        clips,
        status="active",
        expected_fps=12,
        stream_username="admin",
        stream_password="s3cret-Pw",
    )
    response = api.post("/cameras/nouvelle/", body)
    assert response.status_code == 302
    camera = Camera.objects.get(code="CAM-B01")
    assert "s3cret-Pw" not in camera.stream_credentials
    assert secrets.unseal(camera.stream_credentials, camera_id=camera.pk) == ("admin", "s3cret-Pw")
    for url in ("/cameras/CAM-B01/", "/cameras/CAM-B01/modifier/", "/api/cameras/CAM-B01/"):
        assert "s3cret-Pw" not in api.get(url).content.decode()
    assert api.get("/api/cameras/CAM-B01/").json()["has_credentials"] is True


def test_duplicate_authorization_number_is_refused(api):
    AuthorizationFactory(number="73-2024-0001")
    body = {
        "number": "73-2024-0001",
        "issued_on": "2024-05-01",
        "purposes": ["atteintes_personnes_biens"],
        "qualities": ["operateur_csu"],
        "perimeter": "y",
        "retention_days": 15,
    }
    response = api.post("/api/authorizations/", body, content_type="application/json")
    assert response.status_code == 400
    assert "déjà enregistré" in " ".join(response.json()["number"])
    page = api.post("/cameras/autorisations/nouvelle/", body)
    assert "déjà enregistré" in page.content.decode()
    assert Authorization.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"retention_days": 45}, "retention_days", "30 jours"),
        ({"expires_on": "2031-01-01"}, "expires_on", "au plus 5 ans"),
        ({"expires_on": "2023-01-01"}, "expires_on", "doit suivre"),
    ],
)
def test_api_refuses_bad_authorization(api, overrides, field, message):
    body = {
        "number": "73-2025-X",
        "issued_on": "2025-01-01",
        "purposes": ["atteintes_personnes_biens"],
        "qualities": ["operateur_csu"],
        "perimeter": "y",
        "retention_days": 15,
        **overrides,
    }
    response = api.post("/api/authorizations/", body, content_type="application/json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Authorization.objects.exists()


def test_authorization_default_expiry_is_five_years(api):
    body = {
        "number": "A",
        "issued_on": "2025-02-03",
        "purposes": ["atteintes_personnes_biens"],
        "qualities": ["operateur_csu"],
        "perimeter": "y",
        "retention_days": 15,
    }
    response = api.post("/api/authorizations/", body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["expires_on"] == "2030-02-03"


def test_authorization_retention_cannot_drop_below_its_cameras(api):
    camera = CameraFactory(retention_days=15)
    response = api.patch(
        f"/api/authorizations/{camera.authorization.pk}/",
        {"retention_days": 7},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert camera.code in " ".join(response.json()["retention_days"])


@pytest.mark.parametrize(
    ("polygons", "message"),
    [
        ([{"points": [[0, 0], [1, 1]]}], "il en faut au moins 3"),
        ([{"points": [[0, 0], [1.2, 0], [1, 1]]}], "hors de l'image"),
        ([{"points": [[0, 0], [-0.1, 0.5], [1, 1]]}], "hors de l'image"),
        ([{"mode": "laser", "points": [[0, 0], [1, 0], [1, 1]]}], "mode inconnu"),
        ([{"points": [[0, 0], ["a", 0], [1, 1]]}], "paire [x, y]"),
    ],
)
def test_bad_polygons_are_refused(signed_in, supervisor, polygons, message):
    camera = CameraFactory()
    client = signed_in(supervisor)
    response = client.post(
        f"/api/cameras/{camera.code}/masks/",
        {"polygons": polygons},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert message in str(response.json())
    page = client.post(
        f"/cameras/{camera.code}/masques/", {"polygons": __import__("json").dumps(polygons)}
    )
    assert page.status_code == 200
    assert message.replace("'", "&#x27;") in page.content.decode()
    assert not PrivacyMask.objects.exists()


def test_masks_keep_every_version_and_validation_flags(signed_in, supervisor, operator):
    camera = CameraFactory()
    client = signed_in(supervisor)
    square = [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3], [0.1, 0.3]]
    client.post(
        f"/api/cameras/{camera.code}/masks/",
        {"polygons": [{"points": square}]},
        content_type="application/json",
    )
    assert "masks" in client.get(f"/api/cameras/{camera.code}/").json()["flags"]
    # Another supervisor validates (nobody validates his own masks).
    colleague = UserFactory(username="chef.nuit", role=Role.SUPERVISOR)
    HabilitationFactory(user=colleague, all_cameras=True, can_live=True)
    reviewer = signed_in(colleague)
    assert reviewer.post(f"/api/cameras/{camera.code}/masks/1/validate/").status_code == 200
    assert "masks" not in client.get(f"/api/cameras/{camera.code}/").json()["flags"]
    client.post(
        f"/api/cameras/{camera.code}/masks/", {"polygons": []}, content_type="application/json"
    )
    versions = client.get(f"/api/cameras/{camera.code}/masks/").json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["polygons"][0]["points"] == square
    assert "masks" in client.get(f"/api/cameras/{camera.code}/").json()["flags"]
    # An older version cannot be validated any more.
    assert reviewer.post(f"/api/cameras/{camera.code}/masks/1/validate/").status_code == 400
    # Operators never edit masks, even with a live habilitation.
    op = signed_in(operator)
    assert (
        op.post(
            f"/api/cameras/{camera.code}/masks/", {"polygons": []}, content_type="application/json"
        ).status_code
        == 403
    )


def test_camera_without_valid_authorization_is_flagged(signed_in, dpo):
    expired = AuthorizationFactory(
        issued_on=timezone.localdate() - timedelta(days=2000),
        expires_on=timezone.localdate() - timedelta(days=3),
    )
    CameraFactory(code="CAM-OLD", authorization=expired)
    CameraFactory(code="CAM-NONE", authorization=None)
    CameraFactory(code="CAM-OK")
    client = signed_in(dpo)
    flags = {c["code"]: c["flags"] for c in client.get("/api/cameras/").json()["results"]}
    assert "authorization" in flags["CAM-OLD"]
    assert "authorization" in flags["CAM-NONE"]
    assert "authorization" not in flags["CAM-OK"]
    page = client.get("/cameras/?flag=authorization").content.decode()
    assert "CAM-OLD" in page and "CAM-NONE" in page and "CAM-OK" not in page
    assert "Sans autorisation en vigueur" in page


def test_expiry_alerts_are_listed_and_recorded_once(signed_in, dpo):
    from audit.models import AuditEvent
    from cameras.tasks import record_authorization_alerts

    soon = AuthorizationFactory(
        issued_on=timezone.localdate() - timedelta(days=1700),
        expires_on=timezone.localdate() + timedelta(days=80),
    )
    CameraFactory(authorization=soon)
    AuthorizationFactory()  # far from expiry
    alerts = signed_in(dpo).get("/api/authorizations/alerts/").json()
    assert [a["number"] for a in alerts] == [soon.number]
    assert alerts[0]["alert_days"] == 90
    assert record_authorization_alerts() == 1
    assert record_authorization_alerts() == 0
    event = AuditEvent.objects.get(action="authorization.expiry_alert")
    assert event.details["threshold"] == 90
    assert soon.number in signed_in(dpo).get("/cameras/").content.decode()
