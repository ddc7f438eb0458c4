"""The privacy-mask register marks each camera's current version, and that one only."""

from __future__ import annotations

import pytest

from compliance.registers import REGISTERS
from tests.cameras.factories import CameraFactory, PrivacyMaskFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_only_each_cameras_highest_version_is_current():
    author = UserFactory(role="supervisor")
    first, second = CameraFactory(code="CAM-A"), CameraFactory(code="CAM-B")
    for version in (1, 2, 3):
        PrivacyMaskFactory(camera=first, version=version, author=author)
    PrivacyMaskFactory(camera=second, version=1, author=author)
    rows = REGISTERS["masques"].rows(None, None)
    assert [(row[0], row[2], row[3]) for row in rows] == [
        ("CAM-A", "1", ""),
        ("CAM-A", "2", ""),
        ("CAM-A", "3", "oui"),
        ("CAM-B", "1", "oui"),
    ]
