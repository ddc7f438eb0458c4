"""The Police nationale's station watches live and reaches nothing else of the city's.

No replay (page, API, a playback token), no export or requisition (page, API), none of the
city's signalements (page, API, CSV), no dashboard: each is refused by role, even with a live
habilitation on every camera and on a camera listed in the agreement.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from operations.models import Category
from operations.services import signalement_create
from operations.views import DASHBOARD_PARTS
from recordings import playback
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.evidence.factories import RequisitionFactory
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def station():
    person = UserFactory(username="poste.police", role=Role.POLICE_STATION)
    # Written around the services' checks: the role must refuse whatever a row says.
    HabilitationFactory(
        user=person, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    return person


@pytest.fixture
def world(operator):
    camera = CameraFactory(code="CAM-PN1", police_relay=True)
    officer = UserFactory(role=Role.OPJ, service=ServiceFactory())
    requisition = RequisitionFactory(actor=officer, camera=camera)
    signalement = signalement_create(
        actor=operator,
        category=Category.ACCIDENT,
        occurred_at=timezone.now(),
        location="Place de la gare",
        description="Accrochage entre deux voitures.",
        cameras=[camera],
    )
    return {"camera": camera, "requisition": requisition, "signalement": signalement}


def _pages(world) -> list[tuple[str, str]]:
    code, pk = world["camera"].code, world["requisition"].pk
    number = world["signalement"].number
    return [
        ("get", "/enregistrements/relecture/"),
        ("get", f"/enregistrements/relecture/{code}/"),
        ("post", f"/enregistrements/relecture/{code}/"),
        ("get", "/enregistrements/exploitation/"),
        ("get", "/requisitions/"),
        ("get", "/requisitions/registres/"),
        ("get", f"/requisitions/{pk}/"),
        ("post", f"/requisitions/{pk}/extraction/"),
        ("post", f"/requisitions/{pk}/telechargement/"),
        ("get", "/exploitation/"),
        *[("get", f"/exploitation/tableau/{part}/") for part in DASHBOARD_PARTS],
        ("get", "/exploitation/signalements/"),
        ("get", "/exploitation/signalements/?format=csv"),
        ("get", f"/exploitation/signalements/{number}/"),
        ("get", "/exploitation/signalements/nouveau/"),
        ("post", "/exploitation/signalements/nouveau/"),
        ("get", "/exploitation/vacations/"),
        ("get", "/exploitation/statistiques/"),
        ("get", "/cameras/"),
        ("get", f"/cameras/{code}/"),
        ("get", "/conservation/gels/"),
        ("get", "/conformite/"),
    ]


def _api(world) -> list[tuple[str, str]]:
    code, pk = world["camera"].code, world["requisition"].pk
    number = world["signalement"].number
    return [
        ("get", "/api/recordings/operations/"),
        ("get", "/api/requisitions/"),
        ("get", f"/api/requisitions/{pk}/"),
        ("get", "/api/registers/extractions/"),
        ("get", "/api/registers/handovers/"),
        ("get", "/api/operations/signalements/"),
        ("post", "/api/operations/signalements/"),
        ("get", f"/api/operations/signalements/{number}/"),
        ("get", "/api/operations/statistics/"),
        ("get", "/api/cameras/"),
        ("get", f"/api/cameras/{code}/"),
    ]


def test_no_page_of_replay_export_signalements_or_dashboard_opens(world, station):
    client = sign_in(Client(), station)
    opened = {
        f"{method.upper()} {url}": status
        for method, url in _pages(world)
        if (status := getattr(client, method)(url).status_code) != 403
    }
    assert opened == {}


def test_no_endpoint_of_replay_export_signalements_or_dashboard_answers(world, station):
    client = sign_in(Client(), station)
    key = client.post("/api/auth/token/").json()["token"]
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    opened = {
        f"{method.upper()} {url}": status
        for method, url in _api(world)
        if (status := getattr(api, method)(url, content_type="application/json").status_code) != 403
    }
    assert opened == {}


def _planted_playback(client: Client, camera) -> str:
    """A prepared playback in the station's own session, as if it had got one."""
    now = timezone.now()
    prepared = playback.Playback(
        token="pb-station",
        camera_id=camera.pk,
        camera_code=camera.code,
        start=now - timedelta(minutes=10),
        end=now - timedelta(minutes=5),
        reason="Vérification",
        masked=False,
        size=4,
        expires_at=now + timedelta(minutes=30),
        key=b"\0" * 32,
    )
    prepared.path.parent.mkdir(parents=True, exist_ok=True)
    prepared.path.write_bytes(b"data")
    session = client.session
    session[playback.SESSION_KEY] = {prepared.token: prepared.as_session()}
    session.save()
    return prepared.token


def test_a_playback_token_is_refused_to_the_station(world, station):
    camera = world["camera"]
    client = sign_in(Client(), station)
    token = _planted_playback(client, camera)
    base = f"/enregistrements/relecture/{camera.code}/lecture/{token}/"
    assert client.get(base).status_code == 403
    assert client.get(base + "video.mp4").status_code == 403

    with pytest.raises(PermissionDenied, match="Ce rôle ne donne pas accès à ces images"):
        playback.playback_create(
            camera=camera,
            start=timezone.now() - timedelta(minutes=10),
            end=timezone.now() - timedelta(minutes=5),
            reason="Vérification d'un fait signalé",
            procedure=None,
            purpose="atteintes_personnes_biens",
            actor=station,
            session={},
        )


def test_the_station_logs_no_signalement_of_the_citys_room(world, station):
    with pytest.raises(ValidationError, match="Seuls les opérateurs et chefs de salle"):
        signalement_create(
            actor=station,
            category=Category.ACCIDENT,
            occurred_at=timezone.now(),
            location="Place de la gare",
            description="Vu depuis le poste.",
        )
