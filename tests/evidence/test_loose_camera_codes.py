"""A requisition's windows name their cameras as officers type them (cam-2 for CAM-002)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from evidence import services
from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db


def test_a_window_takes_a_loosely_typed_code_and_names_an_unknown_one():
    camera = CameraFactory(code="CAM-002")
    end = timezone.now() - timedelta(hours=1)
    start = end - timedelta(minutes=30)
    cameras, errors = services._check_windows(
        [
            services.WindowRequest("cam-2", start, end),
            services.WindowRequest(" CAM002 ", start, end),
            services.WindowRequest("cam-99", start, end),
        ]
    )
    assert cameras == [camera, camera]
    assert errors == ["Ligne 3 (cam-99) : cette caméra n'existe pas au registre."]
