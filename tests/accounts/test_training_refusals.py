"""CSI L255-1 at the HTTP level: a person whose training lapsed is refused, in French, on the
pages that open images — the extraction of a requisition, the extract of an access request, the
live wall — whatever their habilitation says, and a refresher opens them again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import SystemActor
from accounts.models import Training
from accounts.roles import Role
from accounts.services import training_record
from audit.models import AuditEvent
from cameras.purposes import Purpose
from compliance import services as compliance_services
from evidence.models import Export
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.evidence.factories import RequisitionFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.recordings.retention import record_segments

pytestmark = pytest.mark.django_db

LAPSED = "Formation échue le"


def lapsed_person(role: str):
    """A person habilitated for every camera and right their role allows, trained long ago."""
    person = UserFactory(role=role)
    HabilitationFactory(
        user=person,
        all_cameras=True,
        can_live=True,
        can_replay=role == Role.SUPERVISOR,
        can_extract=role == Role.SUPERVISOR,
        last_training_on=timezone.localdate() - timedelta(days=3 * 365 + 1),
    )
    return person


def refresher(person) -> None:
    training_record(
        user=person,
        held_on=timezone.localdate(),
        kind=Training.Kind.REFRESHER,
        actor=SystemActor("tests"),
    )


def test_a_lapsed_supervisor_cannot_start_a_requisitions_extraction(client):
    camera = CameraFactory(code="CAM-TR1")
    requisition = RequisitionFactory(camera=camera, approved_by=UserFactory(role=Role.MAGISTRATE))
    supervisor = lapsed_person(Role.SUPERVISOR)
    sign_in(client, supervisor)
    url = f"/requisitions/{requisition.pk}/extraction/"
    response = client.post(url, {"purpose": Purpose.PERSONS_AND_PROPERTY}, follow=True)
    page = response.content.decode()
    assert LAPSED in page and "recyclage est nécessaire (CSI L255-1)" in page
    assert not Export.objects.filter(requisition=requisition).exists()
    assert not AuditEvent.objects.filter(action="export.started").exists()


def test_a_lapsed_supervisor_cannot_build_an_access_request_extract(client):
    camera = CameraFactory(code="CAM-TR2")
    start = timezone.now() - timedelta(hours=1)
    record_segments(camera, start, 3)
    request = compliance_services.access_request_create(
        requester_last_name="Durand",
        requester_first_name="Paul",
        identity_document="passport",
        identity_document_ref="AB12",
        description="Veste noire.",
        place="Rue de Boigne",
        starts_at=start,
        ends_at=start + timedelta(minutes=2),
        cameras=[camera],
        actor=UserFactory(role=Role.DPO),
    )
    supervisor = lapsed_person(Role.SUPERVISOR)
    sign_in(client, supervisor)
    url = f"/conformite/demandes-acces/{request.pk}/extrait/{camera.code}/"
    response = client.post(url, {"keep_areas": "[]"})
    assert response.status_code == 403
    assert LAPSED in response.content.decode()
    refresher(supervisor)
    assert client.post(url, {"keep_areas": "not json"}).status_code == 302


def test_a_lapsed_operator_is_told_why_the_live_wall_opens_no_camera(client):
    CameraFactory(code="CAM-TR3", name="Place Saint-Léger")
    operator = lapsed_person(Role.OPERATOR)
    sign_in(client, operator)
    page = client.get("/direct/").content.decode()
    assert 'id="training-refusal"' in page and LAPSED in page
    assert "Aucune image ne vous est ouverte en direct" in page
    assert 'data-code="CAM-TR3"' not in page
    refresher(operator)
    page = client.get("/direct/").content.decode()
    assert 'id="training-refusal"' not in page
    assert 'data-code="CAM-TR3"' in page
