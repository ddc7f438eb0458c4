"""A box that answers no more is one alert on the health board, not one per sensor."""

from __future__ import annotations

import re

import pytest

from audit.models import AuditEvent
from cameras import selectors, services
from cameras.models import Camera, CameraStatus, Device, DeviceHealth, HealthStatus
from tests.cameras.factories import AuthorizationFactory, CameraFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_checks(settings):
    settings.CAMERA_CONNECT_TIMEOUT = 2
    settings.CAMERA_SAMPLE_SECONDS = 1


@pytest.fixture
def device():
    return Device.objects.create(
        code="EQ-H1", name="Tête du parvis", host="127.0.0.1", authorization=AuthorizationFactory()
    )


def on(device, code, url, **extra):
    return CameraFactory(
        code=code, stream_url=url, device=device, authorization=device.authorization, **extra
    )


def board_rows(client) -> list[str]:
    page = client.get("/cameras/sante/").content.decode()
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr class=\"[^\"]*\">.*?</tr>", body, re.S)


def test_every_sensor_down_makes_one_board_row_for_the_box(device, signed_in, operator):
    on(device, "CAM-H1", "rtsp://127.0.0.1:1/ch1")
    on(device, "CAM-H2", "rtsp://127.0.0.1:1/ch2")
    on(device, "CAM-H9", "rtsp://127.0.0.1:1/ch9", status=CameraStatus.MAINTENANCE)
    CameraFactory(code="CAM-SEUL", stream_url="rtsp://127.0.0.1:1/seule")

    results = services.cameras_check_health()

    assert results == {
        "CAM-H1": HealthStatus.UNREACHABLE,
        "CAM-H2": HealthStatus.UNREACHABLE,
        "CAM-SEUL": HealthStatus.UNREACHABLE,
    }
    device.refresh_from_db()
    assert device.health_status == DeviceHealth.UNREACHABLE
    assert device.health_checked_at is not None and device.last_seen_at is None
    event = AuditEvent.objects.get(action="device.health_changed")
    assert event.details["to"] == DeviceHealth.UNREACHABLE
    assert event.details["sensors"] == ["CAM-H1", "CAM-H2"]

    rows = board_rows(signed_in(operator))
    assert len(rows) == 2  # the box (both sensors), and the lone camera
    box = [row for row in rows if "Boîtier injoignable" in row]
    assert len(box) == 1
    assert "EQ-H1" in box[0] and "CAM-H1" in box[0] and "CAM-H2" in box[0]
    assert "2 capteurs ne répondent pas" in box[0]
    assert "CAM-SEUL" not in box[0]

    services.cameras_check_health()  # same state again: no second event
    assert AuditEvent.objects.filter(action="device.health_changed").count() == 1


def test_a_box_with_one_sensor_answering_is_reachable(device, clips, signed_in, operator):
    on(device, "CAM-H1", clips["motion"].as_uri())
    on(device, "CAM-H2", "rtsp://127.0.0.1:1/ch2")

    services.cameras_check_health()

    device.refresh_from_db()
    assert device.health_status == DeviceHealth.REACHABLE
    assert device.last_seen_at == Camera.objects.get(code="CAM-H1").health_checked_at
    rows = board_rows(signed_in(operator))
    assert not any("Boîtier injoignable" in row for row in rows)
    down = [row for row in rows if "CAM-H2" in row]
    assert len(down) == 1 and "Injoignable" in down[0] and "EQ-H1" in down[0]


def test_a_box_that_comes_back_is_recorded_once(device, clips):
    first = on(device, "CAM-H1", "rtsp://127.0.0.1:1/ch1")
    services.cameras_check_health()
    assert Device.objects.get(pk=device.pk).health_status == DeviceHealth.UNREACHABLE

    Camera.objects.filter(pk=first.pk).update(stream_url=clips["motion"].as_uri())
    services.cameras_check_health()

    device.refresh_from_db()
    assert device.health_status == DeviceHealth.REACHABLE
    moves = list(
        AuditEvent.objects.filter(action="device.health_changed")
        .order_by("seq")
        .values_list("details__to", flat=True)
    )
    assert moves == [DeviceHealth.UNREACHABLE, DeviceHealth.REACHABLE]


def test_an_undecodable_sensor_still_proves_the_box_answers(device):
    camera = on(device, "CAM-H1", "rtsp://127.0.0.1:1/ch1")
    Camera.objects.filter(pk=camera.pk).update(
        health_status=HealthStatus.UNREACHABLE,
        health_detail={"error": "format", "undecodable": True},
        health_checked_at="2026-01-05T10:00:00Z",
    )
    assert services.device_record_health(device_id=device.pk)
    assert Device.objects.get(pk=device.pk).health_status == DeviceHealth.REACHABLE


def test_a_device_never_checked_stays_unknown(device):
    on(device, "CAM-H1", "rtsp://127.0.0.1:1/ch1")
    assert not services.device_record_health(device_id=device.pk)
    assert Device.objects.get(pk=device.pk).health_status == DeviceHealth.UNKNOWN


def test_board_rows_keep_the_boards_order(device):
    other = Device.objects.create(code="EQ-H2", name="Autre", host="127.0.0.2")
    for code, dev, status in [
        ("CAM-A", device, HealthStatus.UNREACHABLE),
        ("CAM-B", None, HealthStatus.BLACK),
        ("CAM-C", device, HealthStatus.UNREACHABLE),
        ("CAM-D", other, HealthStatus.UNREACHABLE),
    ]:
        CameraFactory(
            code=code,
            device=dev,
            authorization=dev.authorization if dev else AuthorizationFactory(),
            health_status=status,
        )
    Device.objects.filter(pk=device.pk).update(health_status=DeviceHealth.UNREACHABLE)
    cameras = list(selectors.health_board())
    rows = selectors.health_rows(cameras)
    shape = [
        (row["device"].code, [c.code for c in row["sensors"]])
        if "device" in row
        else row["camera"].code
        for row in rows
    ]
    # EQ-H2 is not known to be down as a box: its sensor keeps its own row.
    assert shape == [("EQ-H1", ["CAM-A", "CAM-C"]), "CAM-D", "CAM-B"]
