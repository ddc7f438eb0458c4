"""The camera map: each camera's state for the room, places only for the public, the register's
filters, the tile source and the content security policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Commune
from accounts.roles import Role
from cameras.map import MapState, map_state
from cameras.models import Camera, CameraStatus, HealthStatus
from csu.lib.maps import tile_csp_source, tile_template
from recordings.models import RecorderLease
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

READERS = [Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO]


def _recording(camera: Camera) -> Camera:
    now = timezone.now()
    RecorderLease.objects.create(
        camera=camera,
        holder="recorder-1",
        state=RecorderLease.State.RECORDING,
        acquired_at=now,
        renewed_at=now,
        expires_at=now + timedelta(minutes=1),
    )
    return camera


def _placed(code: str, **extra) -> Camera:
    extra.setdefault("latitude", Decimal("45.566"))
    extra.setdefault("longitude", Decimal("5.920"))
    return CameraFactory(code=code, **extra)


def _data(response) -> dict:
    page = response.content.decode()
    start = page.index('<script id="camera-map-data" type="application/json">')
    start = page.index(">", start) + 1
    return json.loads(page[start : page.index("</script>", start)])


# --- The room's map ------------------------------------------------------------------------------


def test_each_camera_has_one_state_from_status_health_and_recording(signed_in, operator):
    _recording(_placed("CAM-OK", health_status=HealthStatus.OK))
    _recording(_placed("CAM-FLOU", health_status=HealthStatus.BLURRED))
    _recording(_placed("CAM-NOIR", health_status=HealthStatus.BLACK))
    _placed("CAM-NOREC", health_status=HealthStatus.OK)  # no recorder holds it
    _placed("CAM-MAINT", status=CameraStatus.MAINTENANCE, health_status=HealthStatus.OK)
    _placed("CAM-HS", status=CameraStatus.OUT_OF_SERVICE)
    _recording(_placed("CAM-NEUVE", health_status=HealthStatus.UNKNOWN))
    _placed("CAM-DEPOSEE", status=CameraStatus.DECOMMISSIONED)

    data = _data(signed_in(operator).get("/cameras/carte/"))

    states = {c["code"]: c["state"] for c in data["cameras"]}
    assert states == {
        "CAM-OK": MapState.IN_SERVICE,
        "CAM-FLOU": MapState.DEGRADED,
        "CAM-NOIR": MapState.DOWN,
        "CAM-NOREC": MapState.NOT_RECORDING,
        "CAM-MAINT": MapState.MAINTENANCE,
        "CAM-HS": MapState.DOWN,
        "CAM-NEUVE": MapState.UNCHECKED,
    }
    by_code = {c["code"]: c for c in data["cameras"]}
    assert by_code["CAM-FLOU"]["state_label"] == "Dégradée"
    assert by_code["CAM-FLOU"]["health"] == "Image floue"
    assert by_code["CAM-NOREC"]["recording"] == "Aucun enregistreur ne tient la caméra."
    assert by_code["CAM-OK"]["recording"] == ""
    assert by_code["CAM-OK"]["url"] == "/cameras/CAM-OK/"
    assert by_code["CAM-OK"]["position"] == [45.566, 5.92]
    assert data["tiles"] is None  # no tile server configured: a plain background


def test_the_wall_link_is_offered_for_the_cameras_the_viewer_may_watch_live(signed_in, dpo):
    _placed("CAM-GARE", sector="gare")
    _placed("CAM-PARC", sector="parc")
    watcher = UserFactory(username="operateur.gare", role=Role.OPERATOR)
    HabilitationFactory(user=watcher, sectors=["gare"], can_live=True)

    links = {
        c["code"]: c["live_url"]
        for c in _data(signed_in(watcher).get("/cameras/carte/"))["cameras"]
    }
    assert links == {"CAM-GARE": "/direct/?camera=CAM-GARE", "CAM-PARC": None}
    # The DPO sees the register but never images: no wall link on his map.
    links = {
        c["code"]: c["live_url"] for c in _data(signed_in(dpo).get("/cameras/carte/"))["cameras"]
    }
    assert links == {"CAM-GARE": None, "CAM-PARC": None}


def test_a_camera_stopped_for_want_of_an_authorization_does_not_record(signed_in, operator):
    camera = _recording(_placed("CAM-ARR", health_status=HealthStatus.OK))
    Camera.objects.filter(pk=camera.pk).update(unauthorized_since=timezone.now())

    [row] = _data(signed_in(operator).get("/cameras/carte/"))["cameras"]

    assert row["state"] == MapState.NOT_RECORDING
    assert row["recording"] == "Arrêtée faute d'autorisation préfectorale en vigueur."


def test_the_state_rule_puts_the_status_before_the_picture_and_the_recording():
    camera = Camera(status=CameraStatus.MAINTENANCE, health_status=HealthStatus.BLACK)
    assert map_state(camera, "no recorder") == MapState.MAINTENANCE
    camera = Camera(status=CameraStatus.ACTIVE, health_status=HealthStatus.FROZEN)
    assert map_state(camera, "no recorder") == MapState.NOT_RECORDING
    assert map_state(camera, "") == MapState.DEGRADED


def test_cameras_without_a_position_are_listed_beside_the_map(signed_in, operator):
    _placed("CAM-PLACEE")
    CameraFactory(code="CAM-SANS", name="Parking du marché", latitude=None, longitude=None)

    response = signed_in(operator).get("/cameras/carte/")

    page = response.content.decode()
    unplaced = page[page.index('id="map-unplaced"') :]
    assert 'data-code="CAM-SANS"' in unplaced and "Parking du marché" in unplaced
    assert 'data-code="CAM-PLACEE"' not in unplaced
    positions = {c["code"]: c["position"] for c in _data(response)["cameras"]}
    assert positions["CAM-SANS"] is None


def test_the_sector_select_lists_the_sectors_and_keeps_the_chosen_one(signed_in, operator):
    _placed("CAM-A", sector="Centre-ville")
    _placed("CAM-B", sector="Bissy")

    page = signed_in(operator).get("/cameras/carte/?sector=Bissy").content.decode()

    assert '<option value="Bissy" selected>Bissy</option>' in page
    assert '<option value="Centre-ville">Centre-ville</option>' in page
    # The sector is applied in the browser: every camera's data is on the page.
    assert {
        c["code"] for c in _data(signed_in(operator).get("/cameras/carte/?sector=Bissy"))["cameras"]
    } == {"CAM-A", "CAM-B"}


def test_the_map_shows_the_cameras_the_list_shows_with_the_same_filters(signed_in, operator):
    la_motte = Commune.objects.create(name="La Motte-Servolex", insee_code="73179")
    _placed("CAM-CHY")
    _placed("CAM-LMS", commune=la_motte)
    client = signed_in(operator)

    everyone = {c["code"] for c in _data(client.get("/cameras/carte/"))["cameras"]}
    listed = {c.code for c in client.get("/cameras/").context["page"].object_list}
    assert everyone == listed == {"CAM-CHY", "CAM-LMS"}

    query = f"?commune={la_motte.pk}"
    narrowed = {c["code"] for c in _data(client.get("/cameras/carte/" + query))["cameras"]}
    listed = {c.code for c in client.get("/cameras/" + query).context["page"].object_list}
    assert narrowed == listed == {"CAM-LMS"}
    states = client.get("/cameras/carte/etats/" + query).json()
    assert [c["code"] for c in states["cameras"]] == ["CAM-LMS"]


def test_a_wrong_filter_is_named_on_the_page_and_refused_by_the_states(signed_in, operator):
    _placed("CAM-F")
    client = signed_in(operator)

    page = client.get("/cameras/carte/?commune=999999")

    assert page.status_code == 200
    assert "Commune :" in page.content.decode()
    assert [c["code"] for c in _data(page)["cameras"]] == ["CAM-F"]
    refused = client.get("/cameras/carte/etats/?commune=999999")
    assert refused.status_code == 400 and list(refused.json()) == ["commune"]


def test_the_states_endpoint_gives_the_current_states(signed_in, operator):
    camera = _recording(_placed("CAM-E", health_status=HealthStatus.OK))
    client = signed_in(operator)
    assert client.get("/cameras/carte/etats/").json()["cameras"][0]["state"] == "in_service"

    Camera.objects.filter(pk=camera.pk).update(health_status=HealthStatus.UNREACHABLE)

    answer = client.get("/cameras/carte/etats/")
    assert answer["Cache-Control"].startswith("max-age=0")
    body = answer.json()
    assert body["cameras"] == [
        {
            "code": "CAM-E",
            "state": "down",
            "state_label": "Hors service",
            "status": "En service",
            "health": "Injoignable",
            "recording": "",
        }
    ]
    assert body["checked_at"].endswith("Z")


def test_the_states_are_in_english_when_chosen(signed_in, operator):
    _placed("CAM-EN", health_status=HealthStatus.BLURRED)
    client = signed_in(operator)
    client.cookies["django_language"] = "en"
    [row] = client.get("/cameras/carte/etats/").json()["cameras"]
    assert row["state_label"] == "Not recording"
    assert row["health"] == "Blurred image"


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_map_reads_the_same_number_of_queries_whatever_the_cameras(signed_in, operator):
    client = signed_in(operator)
    _recording(_placed("CAM-Q00", sector="Secteur 0"))
    client.get("/cameras/carte/")
    few = _queries(client, "/cameras/carte/"), _queries(client, "/cameras/carte/etats/")
    for n in range(1, 12):
        _recording(_placed(f"CAM-Q{n:02d}", sector=f"Secteur {n % 3}"))
    CameraFactory(code="CAM-QSANS", latitude=None, longitude=None)
    many = _queries(client, "/cameras/carte/"), _queries(client, "/cameras/carte/etats/")
    assert many == few


def test_a_configured_tile_server_is_given_to_the_map(signed_in, operator, settings):
    settings.CSU_MAP_TILE_URL = "https://tuiles.ville.example/{z}/{x}/{y}.png"
    settings.CSU_MAP_TILE_ATTRIBUTION = "© Ville de Chambéry"
    _placed("CAM-T")
    expected = {
        "url": "https://tuiles.ville.example/{z}/{x}/{y}.png",
        "attribution": "© Ville de Chambéry",
        "max_zoom": 19,
    }
    assert _data(signed_in(operator).get("/cameras/carte/"))["tiles"] == expected
    assert _data(Client().get("/public/information/"))["tiles"] == expected


def test_the_map_pages_are_the_register_readers(db):
    _placed("CAM-P")
    check_matrix(url="/cameras/carte/", allowed=READERS)
    check_matrix(url="/cameras/carte/etats/", allowed=READERS)


def test_the_menu_offers_the_map_to_the_register_readers(signed_in, operator, opj):
    assert "/cameras/carte/" in signed_in(operator).get("/cameras/").content.decode()
    assert "/cameras/carte/" not in signed_in(opj).get("/requisitions/").content.decode()


# --- The public map ------------------------------------------------------------------------------


def test_the_public_page_shows_places_and_names_without_any_state(client):
    CameraFactory(
        code="CAM-PUB",
        name="Place Saint-Léger",
        latitude=Decimal("45.5660"),
        longitude=Decimal("5.9210"),
        health_status=HealthStatus.BLACK,
        status=CameraStatus.OUT_OF_SERVICE,
    )
    CameraFactory(code="CAM-SANS-POS", latitude=None, longitude=None)
    CameraFactory(
        code="CAM-DEP",
        latitude=Decimal(45),
        longitude=Decimal(5),
        status=CameraStatus.DECOMMISSIONED,
    )
    expired = AuthorizationFactory(
        issued_on=timezone.localdate() - timedelta(days=2000),
        expires_on=timezone.localdate() - timedelta(days=10),
    )
    CameraFactory(code="CAM-EXP", latitude=Decimal(45), longitude=Decimal(5), authorization=expired)

    response = client.get("/public/information/")

    assert response.status_code == 200
    data = _data(response)
    assert data["cameras"] == [
        {
            "code": "CAM-PUB",
            "name": "Place Saint-Léger",
            "sector": "Centre-ville",
            "position": [45.566, 5.921],
        }
    ]
    assert "states_url" not in data and "state_labels" not in data
    assert set(data["labels"]) == {"sector", "zoom_in", "zoom_out"}
    page = response.content.decode()
    assert "/cameras/" not in page  # no internal link
    assert "Injoignable" not in page and "Image noire" not in page and "Hors service" not in page
    assert "vendor/leaflet/leaflet.js" in page and "js/camera-map.js" in page


def test_the_public_map_speaks_english_when_chosen(client):
    CameraFactory(code="CAM-PUB", latitude=Decimal(45), longitude=Decimal(5))
    client.cookies["django_language"] = "en"
    page = client.get("/public/information/").content.decode()
    assert "Where the cameras are" in page and "List of the locations" in page


def test_the_public_page_has_no_map_when_no_camera_is_placed(client):
    CameraFactory(code="CAM-SANS", latitude=None, longitude=None)
    page = client.get("/public/information/").content.decode()
    assert 'id="camera-map"' not in page and "leaflet.js" not in page


# --- Tile source and content security policy -----------------------------------------------------


def test_without_a_tile_server_the_policy_allows_images_from_the_site_only(signed_in, operator):
    _placed("CAM-CSP")
    policy = signed_in(operator).get("/cameras/carte/")["Content-Security-Policy"]
    assert "img-src 'self' data:;" in policy


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://tuiles.ville.example/{z}/{x}/{y}.png", "https://tuiles.ville.example"),
        ("https://{s}.tile.example.org:8443/{z}/{x}/{y}.png", "https://*.tile.example.org:8443"),
        (
            "https://wmts.ville.example/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=plan"
            "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&FORMAT=image/png",
            "https://wmts.ville.example",
        ),
        ("http://10.1.2.3:8080/tms/{z}/{x}/{-y}.png", "http://10.1.2.3:8080"),
    ],
)
def test_a_tile_template_gives_the_host_the_policy_allows(template, source):
    assert tile_template("CSU_MAP_TILE_URL", template) == template
    assert tile_csp_source("CSU_MAP_TILE_URL", template) == source


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("ftp://tuiles.example/{z}/{x}/{y}.png", "must start with https://"),
        ("https://tuiles.example/{z}/{x}.png", "lacks the placeholder(s) {y}"),
        ("https://tuiles.example/{z}/{x}/{y}/{style}.png", "unknown placeholder(s) {style}"),
        ("https://user:secret@tuiles.example/{z}/{x}/{y}.png", "user name or password"),
        ("https://tuiles.{s}.example/{z}/{x}/{y}.png", "only be a leading {s}"),
    ],
)
def test_a_wrong_tile_template_stops_the_start_naming_the_variable(template, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        tile_template("CSU_MAP_TILE_URL", template)
    assert str(refused.value).startswith("CSU_MAP_TILE_URL")
    assert message in str(refused.value)
    assert "secret" not in str(refused.value)


def test_a_configured_tile_server_is_allowed_in_img_src_only(tmp_path):
    env = {
        **os.environ,
        "CSU_DATA_DIR": str(tmp_path),
        "CSU_MAP_TILE_URL": "https://tuiles.ville.example/{z}/{x}/{y}.png",
        "CSU_MAP_TILE_ATTRIBUTION": "© Ville de Chambéry",
    }
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.CONTENT_SECURITY_POLICY, settings.CSU_MAP_TILE_ATTRIBUTION]))"
    )
    env["DJANGO_SETTINGS_MODULE"] = "csu.settings"
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    policy, attribution = json.loads(out.strip().splitlines()[-1])
    assert policy["img-src"] == ["'self'", "data:", "https://tuiles.ville.example"]
    others = [s for d, sources in policy.items() if d != "img-src" for s in sources]
    assert not any("tuiles" in s for s in others)
    assert attribution == "© Ville de Chambéry"
