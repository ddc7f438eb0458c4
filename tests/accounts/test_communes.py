"""An intercommunal CSU (CC 2021-817 DC): an agent of commune A never sees commune B's images,
unless a convention in force lists B's cameras for A's agents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.access import decide, scope
from accounts.models import Agreement, Commune, Habilitation, home_commune
from accounts.roles import Right, Role
from audit.models import AuditEvent
from cameras.models import Camera
from live import services as live_services
from live.selectors import wall_cameras
from recordings.selectors import replay_cameras
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chambery():
    return home_commune()


@pytest.fixture
def la_motte():
    return Commune.objects.create(name="La Motte-Servolex", insee_code="73179")


@pytest.fixture
def cognin():
    return Commune.objects.create(name="Cognin", insee_code="73087")


@pytest.fixture
def theirs(la_motte):
    """A camera of commune B."""
    return CameraFactory(code="CAM-LMS-01", sector="Centre-ville", commune=la_motte)


@pytest.fixture
def ours(chambery):
    """A camera of commune A."""
    return CameraFactory(code="CAM-CHY-01", sector="Centre-ville", commune=chambery)


@pytest.fixture
def operator_a(chambery):
    user = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=user, commune=chambery, all_cameras=True, can_live=True)
    return user


@pytest.fixture
def supervisor_a(chambery):
    user = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(
        user=user,
        commune=chambery,
        all_cameras=True,
        can_live=True,
        can_replay=True,
        can_extract=True,
    )
    return user


@pytest.fixture
def admin(db):
    return UserFactory(role=Role.ADMIN)


def agree(admin, viewers, cameras, **extra) -> Agreement:
    today = timezone.localdate()
    values = {
        "reference": "CONV-2026-01",
        "title": "Mutualisation du centre de supervision urbain",
        "signed_on": today - timedelta(days=30),
        "signed_by": "Les maires de Chambéry et de La Motte-Servolex",
        "valid_from": today - timedelta(days=1),
        **extra,
    }
    return services.agreement_create(
        viewer_communes=viewers, camera_communes=cameras, actor=admin, **values
    )


def _in_scope(user, right) -> set[str]:
    return set(Camera.objects.filter(scope(user, right).as_q()).values_list("code", flat=True))


# --- The decision -------------------------------------------------------------------------------


def test_an_agent_sees_his_communes_cameras_and_not_anothers(operator_a, ours, theirs):
    assert decide(operator_a, Right.LIVE, ours)
    refused = decide(operator_a, Right.LIVE, theirs)
    assert not refused
    assert "La Motte-Servolex" in refused.reason
    assert "convention intercommunale" in refused.reason


def test_even_an_all_cameras_habilitation_stops_at_the_communes_border(supervisor_a, theirs):
    for right in Right.values:
        assert not decide(supervisor_a, right, theirs), right


def test_lists_of_images_leave_the_other_communes_cameras_out(
    operator_a, supervisor_a, ours, theirs
):
    assert _in_scope(operator_a, Right.LIVE) == {ours.code}
    assert [c.code for c in wall_cameras(operator_a)] == [ours.code]
    assert list(replay_cameras(supervisor_a)) == [ours]


def test_a_convention_in_force_opens_the_listed_communes_cameras(
    admin, operator_a, chambery, la_motte, ours, theirs
):
    agree(admin, [chambery], [la_motte])
    assert decide(operator_a, Right.LIVE, theirs)
    assert _in_scope(operator_a, Right.LIVE) == {ours.code, theirs.code}


def test_a_convention_opens_one_way_only(admin, chambery, la_motte, ours):
    """Chambéry's agents watch La Motte's cameras; La Motte's agents do not watch Chambéry's."""
    agree(admin, [chambery], [la_motte])
    agent_b = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=agent_b, commune=la_motte, all_cameras=True)
    assert not decide(agent_b, Right.LIVE, ours)
    assert _in_scope(agent_b, Right.LIVE) == set()


def test_a_mutual_convention_opens_each_communes_cameras_to_the_other(
    admin, operator_a, chambery, la_motte, ours, theirs
):
    agree(admin, [chambery, la_motte], [chambery, la_motte])
    agent_b = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=agent_b, commune=la_motte, all_cameras=True)
    assert decide(agent_b, Right.LIVE, ours) and decide(operator_a, Right.LIVE, theirs)


def test_the_dpo_reads_communes_and_conventions_without_changing_them(
    admin, dpo, chambery, la_motte
):
    agreement = agree(admin, [chambery], [la_motte])
    client = sign_in(Client(), dpo)
    listing = client.get("/comptes/communes/").content.decode()
    assert "CONV-2026-01" in listing and "La Motte-Servolex" in listing
    assert "/comptes/communes/nouvelle/" not in listing
    assert "/comptes/conventions/nouvelle/" not in listing
    detail = client.get(f"/comptes/conventions/{agreement.pk}/").content.decode()
    assert f"/comptes/conventions/{agreement.pk}/fin/" not in detail
    assert (
        client.post(f"/comptes/conventions/{agreement.pk}/fin/", {"reason": "x"}).status_code == 403
    )


def test_a_convention_opens_only_the_communes_it_lists(
    admin, operator_a, chambery, la_motte, cognin, theirs
):
    agree(admin, [chambery], [cognin])
    elsewhere = CameraFactory(code="CAM-COG-01", commune=cognin)
    assert decide(operator_a, Right.LIVE, elsewhere)
    assert not decide(operator_a, Right.LIVE, theirs)


def test_a_convention_still_leaves_the_habilitations_perimeter(admin, chambery, la_motte, theirs):
    agent = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=agent, commune=chambery, sectors=["Gare"])
    agree(admin, [chambery], [la_motte])
    assert not decide(agent, Right.LIVE, theirs)
    assert _in_scope(agent, Right.LIVE) == set()


def test_after_the_convention_ends_the_images_close_again(
    admin, operator_a, chambery, la_motte, ours, theirs
):
    agreement = agree(admin, [chambery], [la_motte])
    session = live_services.live_session_open(camera=theirs, actor=operator_a, station_ip=None)
    services.agreement_end(agreement=agreement, actor=admin, reason="Dénonciation par La Motte")
    assert not decide(operator_a, Right.LIVE, theirs)
    assert _in_scope(operator_a, Right.LIVE) == {ours.code}
    # A live session already open on B's camera is closed at its next check.
    allowed, _reason = live_services.live_session_still_allowed(session=session)
    assert not allowed


def test_a_convention_not_yet_in_force_or_past_its_term_opens_nothing(
    admin, operator_a, chambery, la_motte, theirs
):
    today = timezone.localdate()
    agree(admin, [chambery], [la_motte], valid_from=today + timedelta(days=1))
    assert not decide(operator_a, Right.LIVE, theirs)
    agree(
        admin,
        [chambery],
        [la_motte],
        reference="CONV-2020-01",
        signed_on=today - timedelta(days=800),
        valid_from=today - timedelta(days=700),
        valid_until=today - timedelta(days=1),
    )
    assert not decide(operator_a, Right.LIVE, theirs)
    assert _in_scope(operator_a, Right.LIVE) == set()


def test_the_decision_is_taken_at_the_moment_asked(admin, operator_a, chambery, la_motte, theirs):
    """A replay of last month asks about last month: the convention in force then."""
    agreement = agree(admin, [chambery], [la_motte])
    before = timezone.now() - timedelta(days=10)
    assert not decide(operator_a, Right.LIVE, theirs, at=before)
    services.agreement_end(agreement=agreement, actor=admin, reason="Fin")
    assert decide(operator_a, Right.LIVE, theirs, at=agreement.ended_at - timedelta(seconds=1))


def test_habilitations_of_two_communes_each_keep_their_border(chambery, la_motte, cognin):
    """A person habilitated by two communes sees each one's perimeter within that commune."""
    agent = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=agent, commune=chambery, sectors=["Gare"])
    HabilitationFactory(user=agent, commune=la_motte, sectors=["Centre"])
    gare_a = CameraFactory(code="A-GARE", sector="Gare", commune=chambery)
    CameraFactory(code="A-CENTRE", sector="Centre", commune=chambery)
    CameraFactory(code="B-GARE", sector="Gare", commune=la_motte)
    centre_b = CameraFactory(code="B-CENTRE", sector="Centre", commune=la_motte)
    assert _in_scope(agent, Right.LIVE) == {gare_a.code, centre_b.code}
    assert {c.code for c in Camera.objects.all() if decide(agent, Right.LIVE, c)} == {
        gare_a.code,
        centre_b.code,
    }


# --- Through the pages and the API ----------------------------------------------------------------


def test_commune_a_operator_gets_403_on_commune_b_snapshot(operator_a, theirs):
    client = sign_in(Client(), operator_a)
    page = client.get(f"/cameras/{theirs.code}/instantane.jpg")
    assert page.status_code == 403
    api = client.get(f"/api/cameras/{theirs.code}/snapshot/")
    assert api.status_code == 403
    assert "La Motte-Servolex" in api.json()["detail"]


def test_commune_a_operator_cannot_open_live_on_commune_b(operator_a, theirs):
    with pytest.raises(PermissionDenied, match="La Motte-Servolex"):
        live_services.live_session_open(camera=theirs, actor=operator_a, station_ip=None)


def test_commune_a_supervisor_gets_403_on_commune_b_replay(supervisor_a, theirs, ours):
    client = sign_in(Client(), supervisor_a)
    assert client.get(f"/enregistrements/relecture/{theirs.code}/").status_code == 403
    index = client.get("/enregistrements/relecture/")
    assert theirs.code.encode() not in index.content
    assert ours.code.encode() in index.content


def test_with_a_convention_the_snapshot_is_no_longer_refused(
    admin, operator_a, chambery, la_motte, theirs
):
    agree(admin, [chambery], [la_motte])
    # Allowed: the camera itself is asked (none answers here), no refusal of access.
    response = sign_in(Client(), operator_a).get(f"/api/cameras/{theirs.code}/snapshot/")
    assert response.status_code == 503


# --- The single-commune installation ------------------------------------------------------------


def test_a_single_commune_csu_needs_no_choice(admin, settings):
    """Cameras and habilitations recorded without a commune are the home commune's."""
    camera = CameraFactory()
    habilitation = services.habilitation_create(
        user=UserFactory(role=Role.OPERATOR),
        decision_reference="ARR-1",
        issuer="Maire",
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + timedelta(days=10),
        can_live=True,
        all_cameras=True,
        actor=admin,
    )
    assert camera.commune.insee_code == settings.HOME_COMMUNE_INSEE
    assert habilitation.commune == camera.commune
    assert Commune.objects.count() == 1


# --- The communes and the conventions: validation and audit ---------------------------------------


@pytest.mark.parametrize("code", ["7306", "730651", "ABCDE", "2C004", "73 65"])
def test_a_malformed_insee_code_is_refused(admin, code):
    with pytest.raises(ValidationError) as error:
        services.commune_create(name="Ailleurs", insee_code=code, actor=admin)
    assert "code INSEE" in str(error.value)


def test_a_corsican_insee_code_is_accepted(admin):
    assert services.commune_create(name="Ajaccio", insee_code="2a004", actor=admin).insee_code == (
        "2A004"
    )


def test_a_commune_is_recorded_once_and_audited(admin, la_motte):
    with pytest.raises(ValidationError, match="déjà ce code INSEE"):
        services.commune_create(name="Doublon", insee_code="73179", actor=admin)
    services.commune_update(commune=la_motte, name="La Motte Servolex", actor=admin)
    event = AuditEvent.objects.get(action="commune.updated")
    assert event.details["changes"]["name"] == ["La Motte-Servolex", "La Motte Servolex"]


def test_a_convention_must_open_another_communes_cameras(admin, chambery, la_motte):
    with pytest.raises(ValidationError) as error:
        agree(admin, [chambery], [chambery])
    assert "camera_communes" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        agree(admin, [], [la_motte])
    assert "viewer_communes" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        agree(
            admin,
            [chambery],
            [la_motte],
            valid_from=timezone.localdate() - timedelta(days=5),
            valid_until=timezone.localdate() - timedelta(days=6),
        )
    assert "valid_until" in error.value.message_dict
    assert not Agreement.objects.exists()


def test_creating_and_ending_a_convention_is_audited_once(admin, chambery, la_motte):
    agreement = agree(admin, [chambery], [la_motte])
    created = AuditEvent.objects.get(action="agreement.created")
    assert created.details["camera_communes"] == ["La Motte-Servolex (73179)"]
    with pytest.raises(ValidationError):
        services.agreement_end(agreement=agreement, actor=admin, reason="  ")
    services.agreement_end(agreement=agreement, actor=admin, reason="Dénonciation")
    services.agreement_end(agreement=agreement, actor=admin, reason="Encore")
    ended = AuditEvent.objects.filter(action="agreement.ended")
    assert [e.reason for e in ended] == ["Dénonciation"]


def test_the_habilitation_form_records_the_commune(admin, la_motte):
    holder = UserFactory(role=Role.OPERATOR)
    client = sign_in(Client(), admin)
    form = client.get("/comptes/habilitations/nouvelle/")
    assert "La Motte-Servolex (73179)" in form.content.decode()
    today = timezone.localdate()
    response = client.post(
        "/comptes/habilitations/nouvelle/",
        {
            "user": holder.pk,
            "commune": la_motte.pk,
            "decision_reference": "ARR-LMS-1",
            "issuer": "Maire de La Motte-Servolex",
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=365)).isoformat(),
            "all_cameras": "on",
            "can_live": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert Habilitation.objects.get(decision_reference="ARR-LMS-1").commune == la_motte


def test_the_pages_record_a_commune_and_a_convention(admin, chambery):
    client = sign_in(Client(), admin)
    bad = client.post("/comptes/communes/nouvelle/", {"name": "X", "insee_code": "123"})
    assert bad.status_code == 200
    assert "code INSEE" in bad.content.decode()
    assert (
        client.post(
            "/comptes/communes/nouvelle/", {"name": "Cognin", "insee_code": "73087"}
        ).status_code
        == 302
    )
    cognin = Commune.objects.get(insee_code="73087")
    today = timezone.localdate()
    response = client.post(
        "/comptes/conventions/nouvelle/",
        {
            "reference": "CONV-COG",
            "title": "Mutualisation",
            "signed_on": today.isoformat(),
            "signed_by": "Les maires",
            "valid_from": today.isoformat(),
            "viewer_communes": [chambery.pk],
            "camera_communes": [cognin.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()
    agreement = Agreement.objects.get(reference="CONV-COG")
    detail = client.get(f"/comptes/conventions/{agreement.pk}/").content.decode()
    assert "En vigueur" in detail and "Cognin (73087)" in detail
    ended = client.post(f"/comptes/conventions/{agreement.pk}/fin/", {"reason": "Dénonciation"})
    assert ended.status_code == 302
    agreement.refresh_from_db()
    assert agreement.ended_at is not None
    listing = client.get("/comptes/communes/").content.decode()
    assert "Terminée" in listing


def test_the_api_records_and_ends_a_convention(admin, chambery, la_motte):
    client = sign_in(Client(), admin)
    bad = client.post(
        "/api/communes/", {"name": "X", "insee_code": "ABCDE"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "insee_code" in bad.json()
    today = timezone.localdate().isoformat()
    response = client.post(
        "/api/agreements/",
        {
            "reference": "CONV-API",
            "title": "Mutualisation",
            "signed_on": today,
            "signed_by": "Les maires",
            "valid_from": today,
            "viewer_communes": [chambery.pk],
            "camera_communes": [la_motte.pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "in_force"
    pk = response.json()["id"]
    same = client.post(
        "/api/agreements/",
        {**response.json(), "reference": "CONV-API-2", "camera_communes": [chambery.pk]},
        content_type="application/json",
    )
    assert same.status_code == 400 and "camera_communes" in same.json()
    ended = client.post(
        f"/api/agreements/{pk}/end/", {"reason": "Dénonciation"}, content_type="application/json"
    )
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    again = client.post(
        f"/api/agreements/{pk}/end/", {"reason": "Encore"}, content_type="application/json"
    )
    assert again.status_code == 400
