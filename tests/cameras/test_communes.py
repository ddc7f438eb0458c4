"""The camera register names each camera's commune (intercommunal CSU): chosen on the form and
in the API, shown and filtered in the list, its change audited."""

from __future__ import annotations

import pytest

from accounts.models import Commune, home_commune
from audit.models import AuditEvent
from cameras.models import Camera
from tests.cameras.factories import AuthorizationFactory, CameraFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def la_motte():
    return Commune.objects.create(name="La Motte-Servolex", insee_code="73179")


@pytest.fixture
def api(signed_in, supervisor):
    return signed_in(supervisor)


def _body(clips, **overrides):
    return {
        "code": "CAM-C01",
        "name": "Place de l'église",
        "sector": "Centre",
        "kind": "dome",
        "status": "active",
        "expected_fps": 12,
        "stream_url": clips["motion"].as_uri(),
        "authorization": AuthorizationFactory().pk,
        "retention_days": 10,
        **overrides,
    }


def test_the_form_records_the_cameras_commune(api, clips, la_motte):
    form = api.get("/cameras/nouvelle/").content.decode()
    assert "La Motte-Servolex (73179)" in form
    assert api.post("/cameras/nouvelle/", _body(clips, commune=la_motte.pk)).status_code == 302
    camera = Camera.objects.get(code="CAM-C01")
    assert camera.commune == la_motte
    assert "La Motte-Servolex" in api.get("/cameras/CAM-C01/").content.decode()
    created = AuditEvent.objects.get(action="camera.created")
    assert created.details["commune"] == "La Motte-Servolex (73179)"


def test_a_camera_without_a_commune_is_the_home_communes(api, clips):
    assert api.post("/cameras/nouvelle/", _body(clips)).status_code == 302
    assert Camera.objects.get(code="CAM-C01").commune == home_commune()


def test_an_unknown_commune_is_refused_in_french(api, clips):
    page = api.post("/cameras/nouvelle/", _body(clips, commune=999999))
    assert page.status_code == 200 and "commune" in page.context["form"].errors
    response = api.post(
        "/api/cameras/", _body(clips, commune="99999"), content_type="application/json"
    )
    assert response.status_code == 400
    assert "Aucune commune ne porte le code INSEE « 99999 »" in response.json()["commune"][0]
    assert not Camera.objects.exists()


def test_the_api_shows_and_takes_the_commune_by_insee_code(api, clips, la_motte):
    response = api.post(
        "/api/cameras/", _body(clips, commune="73179"), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["commune"] == "73179"
    assert response.json()["commune_name"] == "La Motte-Servolex"
    moved = api.patch(
        "/api/cameras/CAM-C01/",
        {"commune": home_commune().insee_code},
        content_type="application/json",
    )
    assert moved.status_code == 200
    change = AuditEvent.objects.get(action="camera.updated")
    assert change.details["changes"]["commune"] == [
        "La Motte-Servolex (73179)",
        str(home_commune()),
    ]


def test_the_list_shows_and_filters_the_commune(api, la_motte):
    CameraFactory(code="CAM-HOME")
    CameraFactory(code="CAM-LMS", commune=la_motte)
    listing = api.get("/cameras/", {"commune": la_motte.pk})
    codes = [c.code for c in listing.context["page"].object_list]
    assert codes == ["CAM-LMS"]
    assert "La Motte-Servolex" in listing.content.decode()
    by_api = api.get("/api/cameras/", {"commune": la_motte.pk}).json()
    assert [c["code"] for c in by_api["results"]] == ["CAM-LMS"]
    bad = api.get("/api/cameras/", {"commune": "x"})
    assert bad.status_code == 400 and "commune" in bad.json()
