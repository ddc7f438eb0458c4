"""The cameras listed in the city's agreement with the Police nationale (Camera.police_relay)."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import services
from cameras.models import Camera
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db


def _edit_body(camera: Camera, **overrides) -> dict:
    body = {
        "code": camera.code,
        "name": camera.name,
        "sector": camera.sector,
        "kind": camera.kind,
        "status": camera.status,
        "retention_days": camera.retention_days,
        "authorization": camera.authorization_id,
        "stream_url": camera.stream_url,
        "expected_fps": camera.expected_fps,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def camera(clips):
    return CameraFactory(code="CAM-R01", stream_url=clips["motion"].as_uri())


def test_a_new_camera_is_not_listed_until_a_manager_says_so(clips, supervisor):
    camera = services.camera_create(
        code="CAM-R02",
        name="Parvis",
        sector="Gare",
        kind="dome",
        stream_url=clips["motion"].as_uri(),
        authorization=AuthorizationFactory(),
        actor=supervisor,
    )
    assert camera.police_relay is False
    created = AuditEvent.objects.get(action="camera.created")
    assert created.details["police_relay"] is False


def test_the_camera_page_lists_and_unlists_it_audited(signed_in, supervisor, camera):
    client = signed_in(supervisor)
    form = client.get(f"/cameras/{camera.code}/modifier/").content.decode()
    assert "Listée dans la convention avec la Police nationale" in form
    assert 'name="police_relay"' in form

    response = client.post(
        f"/cameras/{camera.code}/modifier/", _edit_body(camera, police_relay="on")
    )
    assert response.status_code == 302, response.context["form"].errors
    camera.refresh_from_db()
    assert camera.police_relay is True
    event = AuditEvent.objects.get(action="camera.updated")
    assert event.details["changes"] == {"police_relay": [False, True]}
    assert "listée : visible en direct au poste déporté" in (
        client.get(f"/cameras/{camera.code}/").content.decode()
    )

    response = client.post(f"/cameras/{camera.code}/modifier/", _edit_body(camera))
    assert response.status_code == 302
    camera.refresh_from_db()
    assert camera.police_relay is False
    assert AuditEvent.objects.filter(action="camera.updated").count() == 2
    assert "non listée" in client.get(f"/cameras/{camera.code}/").content.decode()


def test_the_api_reads_and_changes_it(signed_in, admin_user, camera):
    client = signed_in(admin_user)
    assert client.get(f"/api/cameras/{camera.code}/").json()["police_relay"] is False
    response = client.patch(
        f"/api/cameras/{camera.code}/", {"police_relay": True}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["police_relay"] is True
    assert Camera.objects.get(pk=camera.pk).police_relay is True
    event = AuditEvent.objects.get(action="camera.updated")
    assert event.details["changes"]["police_relay"] == [False, True]

    bad = client.patch(
        f"/api/cameras/{camera.code}/",
        {"police_relay": "peut-être"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "police_relay" in bad.json()


def test_only_register_managers_change_it(signed_in, camera):
    operator = UserFactory(role=Role.OPERATOR)
    response = signed_in(operator).patch(
        f"/api/cameras/{camera.code}/", {"police_relay": True}, content_type="application/json"
    )
    assert response.status_code == 403
    station = UserFactory(role=Role.POLICE_STATION)
    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    response = signed_in(station).patch(
        f"/api/cameras/{camera.code}/", {"police_relay": True}, content_type="application/json"
    )
    assert response.status_code == 403
    assert Camera.objects.get(pk=camera.pk).police_relay is False


def _habilitate_live(person) -> None:
    HabilitationFactory(user=person, all_cameras=True, can_live=True)


def test_the_snapshot_of_a_listed_camera_opens_to_the_station(camera):
    Camera.objects.filter(pk=camera.pk).update(police_relay=True)
    live = [Role.OPERATOR, Role.SUPERVISOR, Role.POLICE_STATION]
    check_matrix(
        url=f"/cameras/{camera.code}/instantane.jpg", allowed=live, habilitate=_habilitate_live
    )
    check_matrix(
        url=f"/api/cameras/{camera.code}/snapshot/",
        allowed=live,
        api=True,
        habilitate=_habilitate_live,
    )


def test_the_snapshot_of_a_camera_outside_the_agreement_stays_closed_to_the_station(
    signed_in, camera
):
    station = UserFactory(role=Role.POLICE_STATION)
    _habilitate_live(station)
    client = signed_in(station)
    assert client.get(f"/cameras/{camera.code}/instantane.jpg").status_code == 403
    assert client.get(f"/api/cameras/{camera.code}/snapshot/").status_code == 403
