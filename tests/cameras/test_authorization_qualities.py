"""Only people of a quality the arrêté lists are habilitated to view its cameras (CSI L252-2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import access, services
from accounts.models import Habilitation, Service
from accounts.qualities import Quality, quality_of
from accounts.roles import Right, Role
from audit.models import AuditEvent
from cameras import services as camera_services
from compliance.registers import REGISTERS
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, ServiceFactory, TrainingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def csu_only_camera():
    """A camera whose arrêté lets only the CSU's operators view it."""
    return CameraFactory(
        code="CAM-MAIRIE",
        sector="hôtel de ville",
        authorization=AuthorizationFactory(number="73-2025-CSU", qualities=[Quality.CSU_OPERATOR]),
    )


@pytest.fixture
def municipal_agent():
    """A police municipale agent working a shift in the room: an operator by role."""
    service = ServiceFactory(code="pm-chambery", kind=Service.Kind.POLICE_MUNICIPALE)
    user = UserFactory(role=Role.OPERATOR, service=service)
    TrainingFactory(user=user)
    return user


def _today_plus(days: int):
    return timezone.localdate() + timedelta(days=days)


def test_quality_follows_the_service_then_the_role(municipal_agent):
    assert quality_of(municipal_agent) == Quality.POLICE_MUNICIPALE
    assert quality_of(UserFactory(role=Role.SUPERVISOR)) == Quality.CSU_OPERATOR
    assert quality_of(UserFactory(role=Role.POLICE_STATION)) == Quality.POLICE_NATIONALE
    gendarmes = ServiceFactory(code="bt", kind=Service.Kind.GENDARMERIE)
    assert quality_of(UserFactory(role=Role.POLICE_STATION, service=gendarmes)) == (
        Quality.GENDARMERIE
    )
    assert quality_of(UserFactory(role=Role.DPO)) is None


def test_a_habilitation_for_a_quality_the_arrete_does_not_list_is_refused(
    csu_only_camera, municipal_agent, admin_user
):
    for scope in (
        {"camera_codes": ["CAM-MAIRIE"]},
        {"sectors": ["hôtel de ville"]},
        {"all_cameras": True},
    ):
        with pytest.raises(ValidationError) as refused:
            services.habilitation_create(
                user=municipal_agent,
                decision_reference="ARR-PM-1",
                issuer="Maire",
                valid_from=timezone.localdate(),
                valid_until=_today_plus(300),
                can_live=True,
                actor=admin_user,
                **scope,
            )
        message = " ".join(refused.value.messages)
        assert "Agents de police municipale" in message
        assert "73-2025-CSU" in message and "CAM-MAIRIE" in message
    assert not Habilitation.objects.exists()
    assert not AuditEvent.objects.filter(action="habilitation.created").exists()


def test_the_same_habilitation_for_a_listed_quality_is_granted(csu_only_camera, admin_user):
    operator = UserFactory(role=Role.OPERATOR)
    habilitation = services.habilitation_create(
        user=operator,
        decision_reference="ARR-CSU-1",
        issuer="Maire",
        valid_from=timezone.localdate(),
        valid_until=_today_plus(300),
        camera_codes=["CAM-MAIRIE"],
        can_live=True,
        actor=admin_user,
    )
    assert habilitation.pk


def test_widening_a_habilitation_onto_such_a_camera_is_refused(
    csu_only_camera, municipal_agent, admin_user
):
    CameraFactory(code="CAM-GARE", sector="gare")
    habilitation = HabilitationFactory(user=municipal_agent, camera_codes=["CAM-GARE"])
    with pytest.raises(ValidationError):
        services.habilitation_update(
            habilitation=habilitation, actor=admin_user, camera_codes=["CAM-GARE", "CAM-MAIRIE"]
        )
    habilitation.refresh_from_db()
    assert habilitation.camera_codes == ["CAM-GARE"]


def test_the_page_refuses_it_in_french(csu_only_camera, municipal_agent, admin_user, signed_in):
    today = timezone.localdate()
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/",
        {
            "user": municipal_agent.pk,
            "decision_reference": "ARR-PM-2",
            "issuer": "Maire",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=30)).isoformat(),
            "camera_codes": "CAM-MAIRIE",
            "can_live": "on",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "n&#x27;est pas listée par l&#x27;autorisation préfectorale" in page
    assert "73-2025-CSU" in page
    assert not Habilitation.objects.exists()


def test_the_api_refuses_it_with_a_precise_error(
    csu_only_camera, municipal_agent, admin_user, signed_in
):
    today = timezone.localdate()
    response = signed_in(admin_user).post(
        "/api/habilitations/",
        {
            "user": municipal_agent.pk,
            "decision_reference": "ARR-PM-3",
            "issuer": "Maire",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=30)).isoformat(),
            "all_cameras": True,
            "can_live": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "73-2025-CSU" in str(response.json())
    assert not Habilitation.objects.exists()


def test_an_arrete_that_drops_a_quality_closes_its_images_to_existing_habilitations(
    municipal_agent, admin_user
):
    camera = CameraFactory(code="CAM-HALLES")
    HabilitationFactory(user=municipal_agent, all_cameras=True, can_live=True)
    assert access.may(municipal_agent, Right.LIVE, camera)
    camera_services.authorization_update(
        authorization=camera.authorization,
        actor=admin_user,
        qualities=[Quality.CSU_OPERATOR, Quality.POLICE_NATIONALE],
    )
    camera.refresh_from_db()
    decision = access.decide(municipal_agent, Right.LIVE, camera)
    assert not decision
    assert "Agents de police municipale" in decision.reason and "CAM-HALLES" in decision.reason


def test_the_authorization_form_and_api_take_checkboxes_of_codes(admin_user, signed_in):
    client = signed_in(admin_user)
    empty = client.post(
        "/api/authorizations/",
        {
            "number": "73-X",
            "issued_on": "2025-01-01",
            "perimeter": "Gare",
            "retention_days": 15,
            "purposes": [],
            "qualities": ["martiens"],
        },
        content_type="application/json",
    )
    assert empty.status_code == 400
    assert set(empty.json()) >= {"purposes", "qualities"}
    page = client.post(
        "/cameras/autorisations/nouvelle/",
        {"number": "73-Y", "issued_on": "2025-01-01", "perimeter": "Gare", "retention_days": 15},
    )
    assert "Cochez au moins une finalité" in page.content.decode()
    created = client.post(
        "/api/authorizations/",
        {
            "number": "73-Z",
            "issued_on": "2025-01-01",
            "perimeter": "Gare",
            "retention_days": 15,
            "purposes": ["atteintes_personnes_biens", "batiments_publics"],
            "qualities": ["police_municipale"],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    # Kept in the article's order, whatever the order sent.
    assert created.json()["purposes"] == ["batiments_publics", "atteintes_personnes_biens"]
    detail = client.get(f"/cameras/autorisations/{created.json()['id']}/").content.decode()
    assert "L251-2 1° — Protection des bâtiments" in detail
    assert "Agents de police municipale" in detail


def test_the_habilitation_page_and_register_show_the_holders_quality(
    municipal_agent, dpo, signed_in
):
    habilitation = HabilitationFactory(user=municipal_agent, camera_codes=["CAM-GARE"])
    page = signed_in(dpo).get(f"/comptes/habilitations/{habilitation.pk}/").content.decode()
    assert "Agents de police municipale" in page
    [row] = REGISTERS["habilitations"].rows(None, None)
    assert row[3] == "Agents de police municipale"  # after the commune
    AuthorizationFactory(
        number="73-REG", purposes=["secours_incendie"], qualities=["sapeurs_pompiers"]
    )
    [authorization] = REGISTERS["autorisations"].rows(None, None)
    assert "L251-2 8° — Secours aux personnes" in authorization[5]
    assert authorization[7] == "Sapeurs-pompiers (SDIS)"
