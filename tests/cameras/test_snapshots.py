"""Snapshots leave the server with software masks burnt in, and each view is audited."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import video
from cameras.models import PrivacyMask
from tests.cameras.factories import CameraFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

A = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]
B = [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]]
C_CAMERA_SIDE = [[0.8, 0.1], [0.95, 0.1], [0.95, 0.3]]


def grey_at(image: np.ndarray, x: float, y: float) -> float:
    """Mean grey level of a 3×3 patch around a normalized point."""
    height, width = image.shape[:2]
    cx, cy = round(x * width), round(y * height)
    patch = cv2.cvtColor(image[cy - 1 : cy + 2, cx - 1 : cx + 2], cv2.COLOR_BGR2GRAY)
    return float(patch.mean())


@pytest.fixture
def masked_camera(clips):
    camera = CameraFactory(code="CAM-S01", stream_url=clips["still"].as_uri())
    PrivacyMask.objects.create(
        camera=camera,
        version=1,
        polygons=[
            {"mode": "software", "points": A},
            {"mode": "software", "points": B},
            {"mode": "camera", "points": C_CAMERA_SIDE},
        ],
        author=UserFactory(role=Role.SUPERVISOR),
    )
    return camera


def test_snapshot_has_masked_pixels_filled_including_overlaps(
    signed_in, operator, masked_camera, clips
):
    response = signed_in(operator).get("/cameras/CAM-S01/instantane.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    raw = video.grab(clips["still"].as_uri())
    points = {
        "only A": (0.2, 0.2),
        "overlap of A and B": (0.4, 0.4),
        "only B": (0.6, 0.6),
    }
    for where, (x, y) in points.items():
        assert grey_at(raw, x, y) > 40, f"{where}: the scene is not dark there to begin with"
        assert grey_at(image, x, y) < 12, f"{where}: not masked"
    # Outside the software masks, and under a mask the camera applies itself: untouched.
    assert grey_at(image, 0.9, 0.8) > 40
    assert grey_at(image, 0.9, 0.15) > 40


def test_one_fillpoly_call_would_leave_the_overlap_visible():
    """Why apply_masks fills each polygon on its own."""
    image = np.full((90, 160, 3), 255, np.uint8)
    scale = np.array([160, 90])
    together = image.copy()
    cv2.fillPoly(
        together, [np.int32(np.array(A) * scale), np.int32(np.array(B) * scale)], (0, 0, 0)
    )
    assert grey_at(together, 0.4, 0.4) == 255
    assert grey_at(video.apply_masks(image.copy(), [A, B]), 0.4, 0.4) == 0


def test_each_snapshot_view_is_an_audit_event(signed_in, operator, masked_camera):
    client = signed_in(operator)
    client.get("/cameras/CAM-S01/instantane.jpg")
    client.get("/api/cameras/CAM-S01/snapshot/")
    events = AuditEvent.objects.filter(action="camera.snapshot_viewed", actor_id=operator.pk)
    assert events.count() == 2
    assert events.first().details["mask_version"] == 1
    assert events.first().reason.startswith("Habilitation")


def test_operator_outside_habilitation_scope_gets_no_image(signed_in, masked_camera):
    from tests.factories import HabilitationFactory

    other_sector = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=other_sector, sectors=["Gare"], can_live=True)
    response = signed_in(other_sector).get("/cameras/CAM-S01/instantane.jpg")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="camera.snapshot_viewed").exists()


def test_unreachable_source_gives_503_not_500(signed_in, operator):
    CameraFactory(code="CAM-DOWN", stream_url="rtsp://127.0.0.1:1/live")
    response = signed_in(operator).get("/cameras/CAM-DOWN/instantane.jpg")
    assert response.status_code == 503
    assert "Image indisponible" in response.content.decode()


def test_mjpeg_and_http_snapshot_sources_give_images(mjpeg_server):
    for url in (f"{mjpeg_server}/mjpeg", f"{mjpeg_server}/snapshot.jpg"):
        image = video.grab(url, timeout=3)
        assert image.shape == (90, 160, 3)
