"""Rotating the master key also re-wraps the keys of scanned requisitions."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import call_command

from evidence import services
from recordings import crypto
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import PDF
from tests.evidence.factories import RequisitionFactory
from tests.factories import ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def _key() -> str:
    return base64.b64encode(crypto.MasterKey.generate().key).decode()


def test_a_scanned_requisition_opens_with_the_new_master_key_alone(settings):
    old, new = _key(), _key()
    settings.RECORDINGS_MASTER_KEY, settings.RECORDINGS_PREVIOUS_MASTER_KEY = old, ""
    camera = CameraFactory()
    officer = UserFactory(role="opj", service=ServiceFactory())
    requisition = RequisitionFactory(actor=officer, camera=camera)

    settings.RECORDINGS_MASTER_KEY, settings.RECORDINGS_PREVIOUS_MASTER_KEY = new, old
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    assert "1 keys re-wrapped" in out.getvalue()

    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""  # the old key is gone
    requisition.refresh_from_db()
    assert services.attachment_open(requisition=requisition, actor=officer) == PDF
