"""Fixtures of the requisition tests: cameras, a scanned requisition, eager Celery."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from csu.celery import app
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory

#: The smallest PDF the content check accepts: a header and an end-of-file marker.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def camera(db):
    return CameraFactory(code="CAM-EV1", name="Place du Palais", address="Place du Palais")


@pytest.fixture
def extractor(supervisor):
    return supervisor


def pdf_upload(name: str = "requisition.pdf", data: bytes = PDF) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def intake_payload(camera_code: str, start=None, end=None, **extra) -> dict:
    end = end or timezone.now() - timedelta(minutes=5)
    start = start or end - timedelta(minutes=10)
    payload = {
        "procedure_number": "2026/000123",
        "legal_frame": "60-1",
        "facts": "Vol avec violence place du Palais.",
        "justification": "Identifier le véhicule des auteurs.",
        "attachment": pdf_upload(),
        "windows": json.dumps(
            [{"camera": camera_code, "start": start.isoformat(), "end": end.isoformat()}]
        ),
    }
    payload.update(extra)
    return payload


def habilitate_extract(user) -> None:
    HabilitationFactory(
        user=user, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
