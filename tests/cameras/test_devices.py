"""Multi-sensor devices: one address, one authorization and one login for several cameras."""

from __future__ import annotations

import json

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import secrets, services, sources, video
from cameras.demo import load_demo_cameras
from cameras.models import Camera, CameraStatus, Device
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Mot-de-Passe-Boitier"


@pytest.fixture
def actor():
    return UserFactory(role=Role.SUPERVISOR)


@pytest.fixture
def api(signed_in, supervisor):
    return signed_in(supervisor)


@pytest.fixture
def authorization():
    return AuthorizationFactory(number="73-2024-MULTI")


@pytest.fixture
def device(actor, authorization):
    return services.device_create(
        code="EQ-01",
        name="Tête multicapteur de la place",
        host="10.20.3.14",
        address="Place du Palais de Justice, 73000 Chambéry",
        authorization=authorization,
        stream_username="admin",
        stream_password=PASSWORD,
        actor=actor,
    )


def sensor(device, actor, code="CAM-S1", channel=101, **extra):
    fields = {
        "code": code,
        "name": f"Capteur {code}",
        "sector": "Centre-ville",
        "kind": "multisensor",
        "stream_url": f"rtsp://10.20.3.14:554/Streaming/Channels/{channel}",
        "status": CameraStatus.MAINTENANCE,
        "device": device,
        "actor": actor,
    }
    fields.update(extra)
    return services.camera_create(**fields)


def audit_text() -> str:
    events = list(AuditEvent.objects.values_list("details", flat=True))
    changes = list(LogEntry.objects.values_list("changes", flat=True))
    return json.dumps(events, default=str) + json.dumps(changes, default=str)


# --- Model and services -----------------------------------------------------------------------


def test_a_sensor_takes_its_devices_authorization_and_address(device, actor):
    camera = sensor(device, actor)
    assert camera.device == device
    assert camera.authorization == device.authorization
    assert camera.address == "Place du Palais de Justice, 73000 Chambéry"
    own = sensor(device, actor, code="CAM-S2", channel=201, address="Rue de Boigne")
    assert own.address == "Rue de Boigne"
    assert list(device.sensors.order_by("code").values_list("code", flat=True)) == [
        "CAM-S1",
        "CAM-S2",
    ]


def test_a_sensor_cannot_carry_another_authorization(device, actor):
    with pytest.raises(ValidationError) as refused:
        sensor(device, actor, authorization=AuthorizationFactory())
    assert "ne peut pas en porter une autre" in " ".join(
        refused.value.message_dict["authorization"]
    )
    assert not Camera.objects.exists()


def test_a_camera_moved_onto_a_device_with_another_authorization_is_refused(device, actor):
    camera = CameraFactory(stream_url="rtsp://10.20.3.14/ch3")
    with pytest.raises(ValidationError) as refused:
        services.camera_update(camera=camera, actor=actor, device=device, verify_source=False)
    assert "authorization" in refused.value.message_dict
    camera.refresh_from_db()
    assert camera.device is None


def test_a_sensor_is_reached_at_its_devices_host(device, actor):
    with pytest.raises(ValidationError) as refused:
        sensor(device, actor, stream_url="rtsp://10.20.3.99/Streaming/Channels/101")
    assert "10.20.3.14" in " ".join(refused.value.message_dict["stream_url"])
    with pytest.raises(ValidationError) as refused:
        sensor(device, actor, live_stream_url="rtsp://10.20.3.99/Streaming/Channels/102")
    assert "live_stream_url" in refused.value.message_dict
    assert not Camera.objects.exists()


@pytest.mark.parametrize(
    "host", ["rtsp://10.0.0.1", "10.0.0.1:554", "10.0.0.1/live", "caméra.local", "-x", ""]
)
def test_a_malformed_host_is_refused(actor, host):
    with pytest.raises(ValidationError) as refused:
        services.device_create(code="EQ-X", name="X", host=host, actor=actor)
    assert "host" in refused.value.message_dict
    assert not Device.objects.exists()


def test_a_device_outside_the_camera_networks_is_refused(actor, settings):
    settings.CAMERA_NETWORKS = ["10.20.0.0/16"]
    with pytest.raises(ValidationError) as refused:
        services.device_create(code="EQ-X", name="X", host="192.168.1.4", actor=actor)
    assert "réseaux de caméras" in " ".join(refused.value.message_dict["host"])
    assert services.device_create(code="EQ-Y", name="Y", host="10.20.1.4", actor=actor)


# --- Credentials ------------------------------------------------------------------------------


def test_a_sensor_without_its_own_login_opens_with_its_devices(device, actor):
    camera = Camera.objects.get(pk=sensor(device, actor).pk)
    assert not camera.has_credentials
    assert sources.stream_login(camera) == ("admin", PASSWORD)
    assert (
        sources.with_credentials(camera.stream_url, *sources.stream_login(camera))
        == f"rtsp://admin:{PASSWORD}@10.20.3.14:554/Streaming/Channels/101"
    )


def test_a_sensors_own_login_comes_before_its_devices(device, actor):
    camera = sensor(device, actor, stream_username="capteur", stream_password="Propre-1234")
    assert sources.with_credentials(
        camera.stream_url, *sources.stream_login(Camera.objects.get(pk=camera.pk))
    ) == ("rtsp://capteur:Propre-1234@10.20.3.14:554/Streaming/Channels/101")


def test_a_devices_login_is_never_handed_to_another_host(device, actor):
    camera = sensor(device, actor)
    # Written behind the services' back: the login still stays with the device's host.
    Camera.objects.filter(pk=camera.pk).update(stream_url="rtsp://10.9.9.9/ch1")
    assert sources.stream_login(Camera.objects.get(pk=camera.pk)) == ("", "")


def test_a_devices_sealed_login_opens_for_that_device_only(device, actor):
    camera = sensor(device, actor)
    other = services.device_create(code="EQ-02", name="Autre", host="10.20.3.15", actor=actor)
    Device.objects.filter(pk=other.pk).update(stream_credentials=device.stream_credentials)
    with pytest.raises(secrets.CredentialsUnreadable):
        secrets.unseal_device(device.stream_credentials, device_id=other.pk)
    # Nor as a camera's: the associated data names the owner's kind as well as its id.
    Camera.objects.filter(pk=camera.pk).update(stream_credentials=device.stream_credentials)
    with pytest.raises(secrets.CredentialsUnreadable):
        secrets.unseal(device.stream_credentials, camera_id=device.pk)
    assert PASSWORD not in device.stream_credentials


def test_the_snapshot_opens_a_sensor_with_its_devices_login(device, actor, monkeypatch):
    camera = sensor(device, actor)
    viewer = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=viewer, all_cameras=True, can_live=True)
    opened = {}

    def grab(url, *, username, password, timeout):
        opened.update(url=sources.with_credentials(url, username, password))
        raise video.SourceError("Source injoignable.")

    monkeypatch.setattr(video, "grab", grab)
    with pytest.raises(video.SourceError):
        services.snapshot_take(camera=Camera.objects.get(pk=camera.pk), actor=viewer)
    assert opened["url"] == f"rtsp://admin:{PASSWORD}@10.20.3.14:554/Streaming/Channels/101"


def test_device_secrets_never_reach_the_audit_trail(device, actor):
    services.device_update(
        device=device, actor=actor, stream_username="admin", stream_password="Nouveau-Secret"
    )
    text = audit_text()
    assert PASSWORD not in text
    assert "Nouveau-Secret" not in text
    event = AuditEvent.objects.filter(action="device.updated").get()
    assert event.details["changes"]["stream_credentials"] == ["***", "***"]
    assert AuditEvent.objects.filter(action="device.created").get().details["has_credentials"]


# --- A device's changes reach its sensors -----------------------------------------------------


def test_a_new_host_moves_the_sensors_and_drops_the_devices_login(device, actor):
    first = sensor(device, actor)
    second = sensor(
        device,
        actor,
        code="CAM-S2",
        channel=201,
        live_stream_url="rtsp://10.20.3.14:554/Streaming/Channels/202",
    )
    services.device_update(device=device, actor=actor, host="10.20.3.40")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.stream_url == "rtsp://10.20.3.40:554/Streaming/Channels/101"
    assert second.live_stream_url == "rtsp://10.20.3.40:554/Streaming/Channels/202"
    device.refresh_from_db()
    assert not device.has_credentials  # typed for another machine: to type again
    assert sources.stream_login(first) == ("", "")
    changed = AuditEvent.objects.filter(action="camera.source_changed").count()
    assert changed == 2
    assert AuditEvent.objects.get(action="device.updated").details["changes"]["credentials"] == (
        "dropped"
    )


def test_a_new_host_with_its_login_keeps_the_sensors_opening(device, actor):
    camera = sensor(device, actor)
    services.device_update(
        device=device,
        actor=actor,
        host="cam-gare.ville.local",
        stream_username="admin",
        stream_password="Autre-Secret",
    )
    camera = Camera.objects.get(pk=camera.pk)
    assert sources.with_credentials(camera.stream_url, *sources.stream_login(camera)) == (
        "rtsp://admin:Autre-Secret@cam-gare.ville.local:554/Streaming/Channels/101"
    )


def test_a_new_authorization_reaches_every_sensor(device, actor):
    sensor(device, actor)
    sensor(device, actor, code="CAM-S2", channel=201)
    renewed = AuthorizationFactory(number="73-2029-MULTI")
    services.device_update(device=device, actor=actor, authorization=renewed)
    assert set(device.sensors.values_list("authorization__number", flat=True)) == {"73-2029-MULTI"}


def test_an_authorization_too_short_for_a_sensor_changes_nothing(device, actor):
    sensor(device, actor, retention_days=15)
    shorter = AuthorizationFactory(retention_days=7)
    with pytest.raises(ValidationError) as refused:
        services.device_update(device=device, actor=actor, authorization=shorter, name="Nouveau")
    assert "CAM-S1" in " ".join(refused.value.message_dict["authorization"])
    device.refresh_from_db()
    assert device.name == "Tête multicapteur de la place"
    assert device.authorization.number == "73-2024-MULTI"
    assert set(device.sensors.values_list("authorization__number", flat=True)) == {"73-2024-MULTI"}
    assert not AuditEvent.objects.filter(action="device.updated").exists()


def test_a_new_host_outside_the_camera_networks_moves_no_sensor(device, actor, settings):
    camera = sensor(device, actor)
    settings.CAMERA_NETWORKS = ["10.20.0.0/16"]
    with pytest.raises(ValidationError) as refused:
        services.device_update(device=device, actor=actor, host="192.168.7.7")
    assert "host" in refused.value.message_dict
    camera.refresh_from_db()
    device.refresh_from_db()
    assert camera.stream_url.startswith("rtsp://10.20.3.14:")
    assert device.host == "10.20.3.14" and device.has_credentials


# --- Pages ------------------------------------------------------------------------------------


def device_body(**overrides):
    body = {"code": "EQ-P1", "name": "Tête du parvis", "host": "10.20.4.1", "address": ""}
    body.update(overrides)
    return body


def test_page_creates_a_device_and_never_shows_its_login(api, authorization):
    body = device_body(authorization=authorization.pk, stream_username="admin")
    body["stream_password"] = PASSWORD
    response = api.post("/cameras/equipements/nouveau/", body)
    assert response.status_code == 302
    device = Device.objects.get(code="EQ-P1")
    assert secrets.unseal_device(device.stream_credentials, device_id=device.pk) == (
        "admin",
        PASSWORD,
    )
    for url in (
        "/cameras/equipements/",
        "/cameras/equipements/EQ-P1/",
        "/cameras/equipements/EQ-P1/modifier/",
        "/api/devices/EQ-P1/",
    ):
        assert PASSWORD not in api.get(url).content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"host": "rtsp://10.20.4.1/"}, "Adresse réseau mal formée"),
        ({"code": "EQ 1"}, "Le code ne contient que"),
        ({"name": ""}, ""),
    ],
)
def test_page_refuses_a_bad_device_in_french_and_saves_nothing(api, overrides, message):
    response = api.post("/cameras/equipements/nouveau/", device_body(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'class="errorlist' in response.content.decode()
    assert not Device.objects.exists()


def test_camera_page_refuses_another_authorization_for_a_sensor(api, device, clips):
    body = {
        "code": "CAM-P1",
        "name": "Capteur",
        "sector": "Gare",
        "kind": "multisensor",
        "status": "maintenance",
        "retention_days": 10,
        "expected_fps": 12,
        "stream_url": "rtsp://10.20.3.14/ch1",
        "device": device.pk,
        "authorization": AuthorizationFactory().pk,
    }
    response = api.post("/cameras/nouvelle/", body)
    assert response.status_code == 200
    assert "ne peut pas en porter une autre" in response.content.decode()
    assert not Camera.objects.exists()
    body.pop("authorization")
    assert api.post("/cameras/nouvelle/", body).status_code == 302
    camera = Camera.objects.get(code="CAM-P1")
    assert camera.authorization == device.authorization
    page = api.get("/cameras/equipements/EQ-01/").content.decode()
    assert "CAM-P1" in page
    assert "EQ-01" in api.get("/cameras/CAM-P1/").content.decode()


def test_device_edit_page_moves_the_sensors(api, device, actor):
    camera = sensor(device, actor)
    body = device_body(code="EQ-01", host="10.20.3.41", authorization=device.authorization.pk)
    response = api.post("/cameras/equipements/EQ-01/modifier/", body)
    assert response.status_code == 302
    camera.refresh_from_db()
    assert camera.stream_url == "rtsp://10.20.3.41:554/Streaming/Channels/101"


def test_device_edit_page_shows_the_refusal_and_changes_nothing(api, device, actor):
    sensor(device, actor, retention_days=15)
    shorter = AuthorizationFactory(retention_days=7)
    body = device_body(code="EQ-01", host="10.20.3.14", authorization=shorter.pk)
    response = api.post("/cameras/equipements/EQ-01/modifier/", body)
    assert response.status_code == 200
    assert "CAM-S1" in response.content.decode()
    device.refresh_from_db()
    assert device.authorization.number == "73-2024-MULTI"


# --- API --------------------------------------------------------------------------------------


def test_api_creates_a_device_then_a_sensor_on_it(api, authorization):
    body = device_body(authorization=authorization.pk, stream_username="admin")
    body["stream_password"] = PASSWORD
    response = api.post("/api/devices/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["has_credentials"] is True
    assert "stream_password" not in data and PASSWORD not in response.content.decode()
    response = api.post(
        "/api/cameras/",
        {
            "code": "CAM-A1",
            "name": "Capteur",
            "sector": "Gare",
            "kind": "multisensor",
            "status": "maintenance",
            "stream_url": "rtsp://10.20.4.1/ch1",
            "device": "EQ-P1",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["device"] == "EQ-P1"
    assert response.json()["authorization"] == authorization.pk
    assert api.get("/api/devices/EQ-P1/").json()["sensors"] == ["CAM-A1"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"device": "EQ-NONE"}, "device", "EQ-NONE"),
        ({"authorization": "other"}, "authorization", "ne peut pas en porter une autre"),
        ({"stream_url": "rtsp://10.9.9.9/ch1"}, "stream_url", "10.20.3.14"),
    ],
)
def test_api_refuses_a_bad_sensor_with_a_400(api, device, overrides, field, message):
    if overrides.get("authorization") == "other":
        overrides = {"authorization": AuthorizationFactory().pk}
    body = {
        "code": "CAM-A1",
        "name": "Capteur",
        "sector": "Gare",
        "kind": "multisensor",
        "status": "maintenance",
        "stream_url": "rtsp://10.20.3.14/ch1",
        "device": "EQ-01",
    }
    body.update(overrides)
    response = api.post("/api/cameras/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    assert not Camera.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"host": "10.20.4.1:554"}, "host", "Adresse réseau mal formée"),
        ({"code": "EQ-01"}, "code", "Un équipement porte déjà ce code"),
        ({"authorization": 999999}, "authorization", ""),
    ],
)
def test_api_refuses_a_bad_device_with_a_400(api, device, overrides, field, message):
    response = api.post("/api/devices/", device_body(**overrides), content_type="application/json")
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    assert Device.objects.count() == 1


def test_api_device_update_carries_the_authorization_to_the_sensors(api, device, actor):
    sensor(device, actor)
    renewed = AuthorizationFactory(number="73-2029-API")
    response = api.patch(
        "/api/devices/EQ-01/", {"authorization": renewed.pk}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert Camera.objects.get(code="CAM-S1").authorization == renewed
    shorter = AuthorizationFactory(retention_days=7)
    response = api.patch(
        "/api/devices/EQ-01/", {"authorization": shorter.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "CAM-S1" in " ".join(response.json()["authorization"])
    assert Camera.objects.get(code="CAM-S1").authorization == renewed


def test_device_list_query_count_does_not_grow(
    signed_in, dpo, actor, django_assert_max_num_queries
):
    client = signed_in(dpo)

    def add(n):
        for i in range(n):
            created = services.device_create(
                code=f"EQ-Q{Device.objects.count():02d}",
                name="Q",
                host=f"10.1.1.{i + 1}",
                actor=actor,
            )
            sensor(created, actor, code=f"CAM-Q{created.pk}", stream_url=f"rtsp://10.1.1.{i + 1}/c")

    add(2)
    with django_assert_max_num_queries(12) as few:
        client.get("/api/devices/")
    add(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/devices/")
    assert response.json()["count"] == 8


# --- Demo -------------------------------------------------------------------------------------


def test_demo_has_one_device_with_two_sensors(settings, tmp_path):
    settings.DATA_DIR = str(tmp_path)
    load_demo_cameras()
    device = Device.objects.get(code="EQ-GARE")
    assert sorted(device.sensors.values_list("code", flat=True)) == ["CAM-003", "CAM-005"]
    assert {c.authorization_id for c in device.sensors.all()} == {device.authorization_id}
    load_demo_cameras()  # a second run adds nothing
    assert Device.objects.count() == 1 and Camera.objects.count() == 5
