"""The register of stops of recording for want of an authorization, for a period, and in the
CNIL audit pack (CSI L252-1)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest

from cameras.models import Camera
from cameras.services import recording_authorizations_sync
from compliance import pack
from compliance.registers import REGISTERS
from tests.cameras.factories import AuthorizationFactory, CameraFactory

pytestmark = pytest.mark.django_db

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def stops(clock):
    """A camera stopped before the period, resumed within it, stopped again after it."""
    expired = AuthorizationFactory(
        number="73-2019-DSC-0009", issued_on=date(2021, 1, 1), expires_on=date(2026, 2, 20)
    )
    camera = CameraFactory(code="CAM-R1", authorization=expired)
    moments = [START - timedelta(days=3), START + timedelta(days=10), END + timedelta(hours=1)]
    with clock(moments[0]):
        recording_authorizations_sync(camera_ids=[camera.pk], now=moments[0])
    Camera.objects.filter(pk=camera.pk).update(
        authorization=AuthorizationFactory(number="73-2026-DSC-0010")
    )
    with clock(moments[1]):
        recording_authorizations_sync(camera_ids=[camera.pk], now=moments[1])
    Camera.objects.filter(pk=camera.pk).update(authorization=None)
    with clock(moments[2]):
        recording_authorizations_sync(camera_ids=[camera.pk], now=moments[2])
    return expired, moments


def test_the_register_lists_each_stop_and_resumption_of_the_period(stops):
    expired, _moments = stops
    register = REGISTERS["arrets-autorisation"]
    assert [row[1] for row in register.rows(None, None)] == ["Arrêt", "Reprise", "Arrêt"]
    [resume] = register.rows(START, END)
    assert resume[1] == "Reprise" and resume[2].startswith("CAM-R1 — ")
    assert resume[3] == "Autorisation en vigueur."
    assert resume[4] == "26/02/2026 01:00:00"  # stopped since, Paris time
    assert resume[5] == "73-2026-DSC-0010"
    [first, _resume, last] = register.rows(None, None)
    assert first[3] == f"Autorisation 73-2019-DSC-0009 expirée le {expired.expires_on:%d/%m/%Y}."
    assert first[4] == first[0]
    assert first[5:8] == [
        "73-2019-DSC-0009",
        f"{expired.issued_on:%d/%m/%Y}",
        f"{expired.expires_on:%d/%m/%Y}",
    ]
    assert last[3] == "Aucune autorisation préfectorale." and last[5:] == ["", "", ""]


def test_the_register_is_a_section_of_the_audit_pack(stops, dpo, tmp_path):
    name, data = pack.build(start=START, end=END, actor=dpo)
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = name.removesuffix(".zip")
    text = archive.read(f"{root}/registres/arrets-autorisation.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:2] == ["Date", "Événement"]
    assert [row[1] for row in rows[1:]] == ["Reprise"]
    manifest = archive.read(f"{root}/manifest.json").decode()
    assert '"arrets-autorisation": 1' in manifest
