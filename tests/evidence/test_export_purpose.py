"""An extraction pursues a CSI L251-2 purpose that every camera's arrêté lists, and the
register of extractions says which."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance.registers import REGISTERS
from evidence import services
from evidence.models import Export, Status
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.evidence.factories import RequisitionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def granted(opj, magistrate):
    """A granted requisition on a camera whose arrêté allows traffic purposes only."""
    camera = CameraFactory(
        code="CAM-ROCADE",
        authorization=AuthorizationFactory(
            number="73-TRAFIC", purposes=["flux_transport", "infractions_circulation"]
        ),
    )
    end = timezone.now() - timedelta(hours=1)
    return RequisitionFactory(
        procedure_number="2026/PUR-1",
        camera=camera,
        starts_at=end - timedelta(minutes=10),
        ends_at=end,
        actor=opj,
        approved_by=magistrate,
        approved_by__reason="Nécessaire à l'enquête.",
    )


def test_an_extraction_for_a_purpose_the_arrete_does_not_list_is_refused(granted, supervisor):
    with pytest.raises(ValidationError) as refused:
        services.export_start(
            requisition=granted, purpose="atteintes_personnes_biens", actor=supervisor
        )
    message = " ".join(refused.value.message_dict["purpose"])
    assert "CAM-ROCADE" in message and "73-TRAFIC" in message
    with pytest.raises(ValidationError, match="Indiquez la finalité"):
        services.export_start(requisition=granted, purpose="", actor=supervisor)
    granted.refresh_from_db()
    assert granted.status != Status.EXPORTING and not Export.objects.exists()


def test_the_api_and_the_page_refuse_it_too(granted, supervisor, signed_in):
    client = signed_in(supervisor)
    page = client.get(f"/requisitions/{granted.pk}/").content.decode()
    assert 'value="infractions_circulation"' in page
    assert 'value="atteintes_personnes_biens"' not in page
    api = client.post(
        f"/api/requisitions/{granted.pk}/export/",
        {"purpose": "atteintes_personnes_biens"},
        content_type="application/json",
    )
    assert api.status_code == 400 and "CAM-ROCADE" in str(api.json())
    missing = client.post(
        f"/api/requisitions/{granted.pk}/export/", {}, content_type="application/json"
    )
    assert missing.status_code == 400 and "purpose" in missing.json()
    posted = client.post(
        f"/requisitions/{granted.pk}/extraction/",
        {"purpose": "atteintes_personnes_biens"},
        follow=True,
    )
    assert "73-TRAFIC" in posted.content.decode()
    assert not Export.objects.exists()


def test_an_extraction_records_its_purpose_in_the_trail_and_the_register(granted, supervisor):
    export = services.export_start(
        requisition=granted, purpose="infractions_circulation", actor=supervisor
    )
    assert export.purpose == "infractions_circulation"
    event = AuditEvent.objects.get(action="export.started")
    assert event.details["purpose"] == "infractions_circulation"
    assert "L251-2 4°" in event.reason
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.READY, finished_at=timezone.now(), package_sha256="ab" * 32
    )
    [row] = REGISTERS["extractions"].rows(None, None)
    assert row[1] == granted.reference
    assert row[-1] == "L251-2 4° — Constatation des infractions aux règles de la circulation"
