"""The page drawing an extract's areas and the recorded picture it draws on (no browser)."""

from __future__ import annotations

import json
from datetime import timedelta

import cv2
import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from compliance.models import AccessRequest
from tests.compliance.footage import HEIGHT, WIDTH, recorded_request
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def request_and_agent(tmp_path, dpo):
    request = recorded_request(tmp_path, dpo)
    agent = UserFactory(username="chef.extrait", role=Role.SUPERVISOR)
    HabilitationFactory(
        user=agent, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    return request, agent


def url(name: str, request: AccessRequest) -> str:
    return reverse(f"compliance:{name}", args=[request.pk, "CAM-DA-W"])


def test_the_frame_is_the_recorded_picture_at_that_moment_and_is_audited(
    request_and_agent, signed_in
):
    request, agent = request_and_agent
    client = signed_in(agent)
    response = client.get(url("extract_frame", request) + "?t=1.5")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert image[8, 8].mean() < 80 and image[8, 24].mean() > 180  # the checkerboard
    event = AuditEvent.objects.get(action="access_request.frame_viewed")
    assert event.actor_id == agent.pk and event.details["camera"] == "CAM-DA-W"
    at = (request.starts_at + timedelta(seconds=1.5)).isoformat(timespec="milliseconds")
    assert event.details["at"] == at.replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("t", "status", "message"),
    [
        ("5", 404, "Cet instant tombe hors de la période demandée (0 à 2 s)."),
        ("-1", 404, "Cet instant tombe hors de la période demandée (0 à 2 s)."),
        (
            "bientôt",
            400,
            "L'instant « t » est un nombre de secondes depuis le début de la période.",
        ),
        ("nan", 400, "L'instant « t » est un nombre de secondes depuis le début de la période."),
    ],
)
def test_a_moment_outside_the_period_is_refused_in_words(
    request_and_agent, signed_in, t, status, message
):
    request, agent = request_and_agent
    response = signed_in(agent).get(url("extract_frame", request), {"t": t})
    assert response.status_code == status
    assert response.content.decode() == message
    assert not AuditEvent.objects.filter(action="access_request.frame_viewed").exists()


def test_the_editor_page_carries_the_areas_and_the_period(request_and_agent, signed_in):
    request, agent = request_and_agent
    row = request.footage.get()
    still = [[0.1, 0.1], [0.3, 0.1], [0.3, 0.5]]
    row.keep_areas = [still]
    row.save(update_fields=["keep_areas"])
    page = signed_in(agent).get(url("extract_areas", request))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="area-time" min="0" max="2.0"' in text
    assert url("extract_frame", request) + "?t=0" in text
    assert page.context["areas"] == {"keep": [still], "blur": []}
    assert '<script id="area-data" type="application/json">' in text
    assert '<script src="/static/js/mask-editor.js">' in text and "onclick" not in text


def test_a_refused_drawing_comes_back_on_the_editor_with_the_reason(
    request_and_agent, signed_in, settings
):
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 25
    request, agent = request_and_agent
    growing = {
        "keys": [
            {"t": 0, "points": [[0, 0], [0.2, 0], [0.2, 0.2], [0, 0.2]]},
            {"t": 2, "points": [[0, 0], [0.8, 0], [0.8, 0.8], [0, 0.8]]},
        ]
    }
    response = signed_in(agent).post(
        url("extract_build", request),
        {"keep_areas": json.dumps([growing]), "blur_areas": "[]", "editor": "1"},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "couvrent 64,0 % de l&#x27;image" in text and "(À 2,0 s du début de la période.)" in text
    # The drawing is given back to the editor, not lost.
    assert json.loads(response.context["areas"]["keep"]) == [growing]
    row = request.footage.get()
    assert row.keep_areas == [] and not row.extract_path


def test_a_closed_request_sends_back_to_its_page(request_and_agent, signed_in):
    request, agent = request_and_agent
    AccessRequest.objects.filter(pk=request.pk).update(
        status=AccessRequest.Status.ANSWERED, answered_at=timezone.now()
    )
    response = signed_in(agent).get(url("extract_areas", request), follow=True)
    assert response.redirect_chain[-1][0] == reverse("compliance:request_detail", args=[request.pk])
    assert "ne peut plus être préparé" in response.content.decode()
