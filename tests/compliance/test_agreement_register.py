"""The DPO's registers name the communes: each habilitation's and each camera's, and the
conventions that open one commune's cameras to another's agents, in the audit pack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Commune, home_commune
from accounts.roles import Role
from compliance.pack import SECTIONS
from compliance.registers import REGISTERS
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def la_motte():
    return Commune.objects.create(name="La Motte-Servolex", insee_code="73179")


def test_the_conventions_are_a_section_of_the_audit_pack():
    assert "conventions-intercommunales" in SECTIONS


def test_the_conventions_register_lists_each_with_its_communes_and_its_end(la_motte):
    admin = UserFactory(role=Role.ADMIN)
    today = timezone.localdate()
    agreement = services.agreement_create(
        reference="CONV-2026-07",
        title="Mutualisation du CSU",
        signed_on=today - timedelta(days=10),
        signed_by="Les maires de Chambéry et de La Motte-Servolex",
        valid_from=today - timedelta(days=5),
        viewer_communes=[home_commune()],
        camera_communes=[la_motte],
        actor=admin,
    )
    [row] = REGISTERS["conventions-intercommunales"].rows(None, None)
    assert row[0] == "CONV-2026-07"
    assert row[4] == str(home_commune()) and row[5] == "La Motte-Servolex (73179)"
    assert row[7] == "sans terme" and row[8] == "En vigueur"
    services.agreement_end(agreement=agreement, actor=admin, reason="Dénonciation")
    [row] = REGISTERS["conventions-intercommunales"].rows(None, None)
    assert row[8] == "Terminée" and row[11] and row[13] == "Dénonciation"


def test_the_habilitations_and_authorizations_registers_name_the_communes(la_motte):
    HabilitationFactory(decision_reference="DEC-LMS", commune=la_motte)
    camera = CameraFactory(code="CAM-LMS", commune=la_motte)
    habilitations = REGISTERS["habilitations"]
    [row] = [r for r in habilitations.rows(None, None) if "DEC-LMS" in r]
    assert row[habilitations.columns.index("Commune")] == "La Motte-Servolex (73179)"
    [row] = [
        r for r in REGISTERS["autorisations"].rows(None, None) if camera.authorization.number in r
    ]
    assert "CAM-LMS (La Motte-Servolex)" in row[-1]


def test_the_dpo_reads_the_register_page(signed_in, dpo, la_motte):
    response = signed_in(dpo).get("/conformite/registres/conventions-intercommunales/")
    assert response.status_code == 200
    assert "Registre des conventions intercommunales" in response.content.decode()
