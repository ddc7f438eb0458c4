"""The Police nationale's remote station: live only, on the cameras of the city's agreement."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.access import decide, scope
from accounts.models import Habilitation
from accounts.roles import ROLE_RIGHTS, Right, Role
from audit.models import AuditEvent
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db

LISTED = SimpleNamespace(code="CAM-001", sector="Centre-ville", police_relay=True)
NOT_LISTED = SimpleNamespace(code="CAM-002", sector="Centre-ville", police_relay=False)


@pytest.fixture
def station():
    return UserFactory(username="poste.police", role=Role.POLICE_STATION)


def test_the_role_grants_live_viewing_only():
    assert ROLE_RIGHTS[Role.POLICE_STATION] == {Right.LIVE}
    assert Role.POLICE_STATION.label == "Poste déporté de la Police nationale"


def test_the_station_signs_in_with_a_second_factor(station):
    assert station.requires_second_factor
    # Every role touches images or who may see them: none is left out by default.
    assert set(settings.OTP_REQUIRED_ROLES) == set(Role.values)


# --- The one decision ----------------------------------------------------------------------------


def test_a_listed_camera_within_the_habilitation_opens(station):
    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    decision = decide(station, Right.LIVE, LISTED)
    assert decision and decision.habilitation is not None


def test_a_camera_outside_the_agreement_stays_closed_whatever_the_habilitation(station):
    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    decision = decide(station, Right.LIVE, NOT_LISTED)
    assert not decision
    assert decision.reason == (
        "Cette caméra n'est pas listée dans la convention avec la Police nationale."
    )
    # Anything without the mark counts as not listed.
    assert not decide(station, Right.LIVE, SimpleNamespace(code="CAM-001", sector="Centre-ville"))


def test_a_listed_camera_outside_the_habilitation_stays_closed(station):
    HabilitationFactory(user=station, camera_codes=["CAM-009"], can_live=True)
    decision = decide(station, Right.LIVE, LISTED)
    assert not decision
    assert decision.reason == "L'habilitation ne couvre pas cette caméra pour ce droit."


def test_the_agreement_does_not_bind_the_citys_own_staff():
    operator = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    assert decide(operator, Right.LIVE, NOT_LISTED)


def test_replay_and_extraction_stay_closed_even_on_a_listed_camera(station):
    # A habilitation written around the services' checks still gives no more than the role.
    HabilitationFactory(
        user=station, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    for right in (Right.REPLAY, Right.EXTRACT):
        decision = decide(station, right, LISTED)
        assert not decision
        assert decision.reason == "Ce rôle ne donne pas accès à ces images."
        assert scope(station, right).empty


def test_the_scope_is_the_habilitation_and_the_agreement_together(station):
    from cameras.models import Camera

    listed_in_sector = CameraFactory(code="CAM-101", sector="Gare", police_relay=True)
    CameraFactory(code="CAM-102", sector="Gare", police_relay=False)
    CameraFactory(code="CAM-103", sector="Centre", police_relay=True)
    HabilitationFactory(user=station, sectors=["Gare"], can_live=True)
    allowed = Camera.objects.filter(scope(station, Right.LIVE).as_q())
    assert list(allowed) == [listed_in_sector]

    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    everywhere = scope(station, Right.LIVE)
    assert all(g.all_cameras for g in everywhere.grants) and everywhere.agreement_only
    codes = Camera.objects.filter(everywhere.as_q()).values_list("code", flat=True)
    assert sorted(codes) == ["CAM-101", "CAM-103"]


def test_without_a_habilitation_the_scope_is_empty_even_for_listed_cameras(station):
    from cameras.models import Camera

    CameraFactory(police_relay=True)
    assert not Camera.objects.filter(scope(station, Right.LIVE).as_q()).exists()


# --- Habilitations: live only ---------------------------------------------------------------------


def _habilitation_post(user_pk: int, **rights: str) -> dict:
    today = timezone.localdate()
    return {
        "user": user_pk,
        "decision_reference": "ARR-2026-0500",
        "issuer": "Préfet de la Savoie",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "all_cameras": "on",
        **rights,
    }


def test_the_habilitation_page_grants_the_station_live_viewing(signed_in, admin_user, station):
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/", _habilitation_post(station.pk, can_live="on")
    )
    assert response.status_code == 302
    [habilitation] = Habilitation.objects.filter(user=station)
    assert habilitation.rights == ["live"]


@pytest.mark.parametrize(
    ("rights", "named"),
    [
        ({"can_replay": "on"}, "Relecture des enregistrements"),
        ({"can_live": "on", "can_extract": "on"}, "Extraction"),
    ],
)
def test_the_habilitation_page_refuses_replay_or_extraction_to_the_station(
    signed_in, admin_user, station, rights, named
):
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/", _habilitation_post(station.pk, **rights)
    )
    assert response.status_code == 200
    message = f"Le rôle Poste déporté de la Police nationale ne permet pas ce droit : {named}."
    errors = " ".join(str(e) for e in response.context["form"].non_field_errors())
    assert message in errors
    assert not Habilitation.objects.filter(user=station).exists()
    assert not AuditEvent.objects.filter(action="habilitation.created").exists()


def _api(user) -> Client:
    response = sign_in(Client(), user).post("/api/auth/token/")
    assert response.status_code == 201, response.content
    return Client(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")


def test_the_api_refuses_replay_or_extraction_to_the_station(admin_user, station):
    client = _api(admin_user)
    today = timezone.localdate()
    body = {
        "user": station.pk,
        "decision_reference": "ARR-2026-0501",
        "issuer": "Préfet de la Savoie",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "all_cameras": True,
        "can_live": True,
    }
    for extra in ({"can_replay": True}, {"can_extract": True}):
        response = client.post(
            "/api/habilitations/", {**body, **extra}, content_type="application/json"
        )
        assert response.status_code == 400
        assert (
            "Poste déporté de la Police nationale ne permet pas ce droit"
            in (response.json()["non_field_errors"][0])
        )
    assert not Habilitation.objects.filter(user=station).exists()

    created = client.post("/api/habilitations/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    widened = client.patch(
        f"/api/habilitations/{created.json()['id']}/",
        {"can_replay": True},
        content_type="application/json",
    )
    assert widened.status_code == 400
    assert Habilitation.objects.get(user=station).rights == ["live"]


def test_the_station_can_be_chosen_as_the_holder_of_a_habilitation(signed_in, admin_user, station):
    form = signed_in(admin_user).get("/comptes/habilitations/nouvelle/").context["form"]
    assert station in form.fields["user"].queryset


def test_an_account_is_created_for_the_station(signed_in, admin_user, police_service):
    response = signed_in(admin_user).post(
        "/comptes/utilisateurs/nouveau/",
        {
            "username": "poste.pn.chambery",
            "first_name": "Poste",
            "last_name": "Commissariat",
            "role": Role.POLICE_STATION,
            "service": police_service.pk,
            "password1": "Poste-Police-2026!x",
            "password2": "Poste-Police-2026!x",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    event = AuditEvent.objects.get(action="account.created")
    assert event.details["role"] == Role.POLICE_STATION


# --- Home page -----------------------------------------------------------------------------------


def test_the_home_page_lists_the_cameras_of_the_agreement_it_may_watch(signed_in, station):
    CameraFactory(code="CAM-201", name="Place de la gare", police_relay=True)
    CameraFactory(code="CAM-202", name="Cour de la mairie", police_relay=False)
    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    page = signed_in(station).get("/accueil/").content.decode()
    assert "Accueil poste déporté de la Police nationale" in page
    assert "Place de la gare" in page and "Cour de la mairie" not in page
    assert 'href="/direct/"' in page


def test_the_home_page_says_when_no_camera_is_open(signed_in, station):
    CameraFactory(police_relay=False)
    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    page = signed_in(station).get("/accueil/").content.decode()
    assert "Aucune caméra ne vous est ouverte en direct" in page


def test_the_station_reads_its_home_page_in_english(signed_in, station):
    CameraFactory(name="Place de la gare", police_relay=True)
    HabilitationFactory(user=station, all_cameras=True, can_live=True)
    client = signed_in(station)
    client.post("/i18n/setlang/", {"language": "en", "next": "/accueil/"})
    page = client.get("/accueil/").content.decode()
    assert "Police nationale remote station home" in page
    assert "Cameras open to live viewing" in page and "Open the video wall" in page
    assert "Replay, extraction and signalements stay with the urban supervision centre." in page
