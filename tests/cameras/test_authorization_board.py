"""The health board says which cameras are neither recorded nor shown live, and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.cameras.factories import AuthorizationFactory, CameraFactory

pytestmark = pytest.mark.django_db


def test_health_board_shows_why_a_camera_is_stopped(signed_in, operator):
    today = timezone.localdate()
    expired = AuthorizationFactory(
        number="A-2019", issued_on=today - timedelta(days=900), expires_on=today - timedelta(days=2)
    )
    future = AuthorizationFactory(
        number="A-2030", issued_on=today + timedelta(days=4), expires_on=today + timedelta(days=900)
    )
    CameraFactory(code="CAM-EXP", authorization=expired)
    CameraFactory(code="CAM-NEW", authorization=future)
    CameraFactory(code="CAM-NUL", authorization=None)
    CameraFactory(code="CAM-OK")
    page = signed_in(operator).get("/cameras/sante/").content.decode()
    rows = {code: page.split(f">{code}</a>")[0].rsplit("<tr", 1)[1] for code in ["CAM-EXP"]}
    assert "Ni enregistrée ni visible en direct" in rows["CAM-EXP"]
    assert f"Autorisation A-2019 expirée le {expired.expires_on:%d/%m/%Y}." in page
    assert f"Autorisation A-2030 en vigueur à partir du {future.issued_on:%d/%m/%Y}." in page
    assert "Aucune autorisation préfectorale." in page
    assert page.count("Ni enregistrée ni visible en direct") == 3
