"""Schemathesis against the OpenAPI schema, every operation, as every role (no network).

The schema is the one /api/schema/ serves (checked below); requests go through Django's WSGI
application in this thread, so they see the test database. Generated cases go to the roles in
turn (each role gets a share of every operation's examples), with that role's API token: no
5xx, every documented response matches the schema, and an OPJ never receives anything of
another service's requisition.
"""

from __future__ import annotations

import itertools
import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from accounts.roles import Role
from cameras.services import authorization_record_alert
from operations.alarms import alarm_scan
from operations.models import Alarm
from operations.services import alarm_acknowledge, alarm_close
from tests.conftest import sign_in
from tests.evidence.conftest import intake_payload
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

#: What a gendarmerie requisition carries that a police OPJ must never receive.
SECRET_PROCEDURE = "GEND-SECRET-2026-0042"
SECRET_FACTS = "Faits confidentiels de la brigade de gendarmerie"

RAW_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
schema.app = get_wsgi_application()

#: The roles take the generated cases in turn (deterministic: the examples are derandomized).
ROLES = list(Role.values)
TURNS = itertools.count()

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _token(user) -> str:
    response = sign_in(Client(), user).post("/api/auth/token/")
    assert response.status_code == 201, response.content
    return response.json()["token"]


@contextmanager
def keeping_the_test_connection():
    """As Django's test client does: the test's connection (and transaction) outlives requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def people(db, tmp_path, settings):
    """One person per role with an API token, and requisitions of two services."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    from cameras.models import Camera
    from tests.cameras.factories import AuthorizationFactory, CameraFactory

    # An arrêté 20 days from its end: one open expiry alert, with its empty fields, in the API.
    authorization = AuthorizationFactory(expires_on=timezone.localdate() + timedelta(days=20))
    camera = CameraFactory(
        code="CAM-FZ1",
        authorization=authorization,
        stream_url=f"file://{tmp_path}/absent.mp4",
    )
    assert authorization_record_alert(authorization_id=authorization.pk)
    police = ServiceFactory(code="police-fuzz", name="Commissariat fuzz")
    gendarmerie = ServiceFactory(code="gend-fuzz", name="Brigade fuzz", kind="gendarmerie")
    users = {role: UserFactory(role=role) for role in Role.values}
    users[Role.OPJ].service = police
    users[Role.OPJ].save(update_fields=["service"])
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        HabilitationFactory(
            user=users[role], all_cameras=True, can_live=True, can_replay=True, can_extract=True
        )
    other_opj = UserFactory(role=Role.OPJ, service=gendarmerie)
    end = timezone.now() - timedelta(minutes=5)
    for officer, procedure, facts in [
        (users[Role.OPJ], "POL-2026-0001", "Vol à l'étalage"),
        (other_opj, SECRET_PROCEDURE, SECRET_FACTS),
    ]:
        response = sign_in(Client(), officer).post(
            "/api/requisitions/",
            intake_payload(camera.code, end=end, procedure_number=procedure, facts=facts),
        )
        assert response.status_code == 201, response.content
    assert Camera.objects.count() == 1
    # Alarms (the camera is not recorded, the arrêté nears its end): one acknowledged, one
    # closed, so that the alarms' nullable fields show both empty and filled.
    alarm_scan()
    expiry, recording = Alarm.objects.order_by("kind")[:2]  # authorization, recording
    alarm_acknowledge(alarm=recording, comment="Pris en compte.", actor=users[Role.OPERATOR])
    alarm_close(alarm=expiry, actor=users[Role.SUPERVISOR])
    return {role: _token(user) for role, user in users.items()}


def _leaks(body: bytes) -> bool:
    return SECRET_PROCEDURE.encode() in body or SECRET_FACTS.encode() in body


def test_the_served_schema_is_the_one_fuzzed(people):
    response = Client().get("/api/schema/?format=json", HTTP_AUTHORIZATION=f"Token {people['dpo']}")
    assert response.status_code == 200
    assert sorted(json.loads(response.content)["paths"]) == sorted(RAW_SCHEMA["paths"])


@schema.parametrize()
@settings(
    max_examples=18,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_as_every_role(case, people):
    role = ROLES[next(TURNS) % len(ROLES)]
    headers = {"Authorization": f"Token {people[role]}"}
    with keeping_the_test_connection():
        response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
    if role == Role.OPJ:
        assert not _leaks(response.content), (
            f"{case.method} {case.formatted_path}: another service's requisition leaked"
        )


def test_a_new_signalement_matches_its_schema(people):
    body = {
        "category": "incendie",
        "occurred_at": timezone.now().isoformat(),
        "location": "Place Saint-Léger",
        "description": "Fumée",
    }
    response = Client().post(
        "/api/operations/signalements/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {people[Role.OPERATOR]}",
    )
    assert response.status_code == 201, response.content
    components = RAW_SCHEMA["components"]["schemas"]
    options = components["Signalement"]["properties"]["outcome"]["oneOf"]
    allowed = {
        value for option in options for value in components[option["$ref"].split("/")[-1]]["enum"]
    }
    assert response.json()["outcome"] == "" and "" in allowed  # open: no outcome yet
