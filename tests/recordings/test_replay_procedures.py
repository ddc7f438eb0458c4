"""Recorded images are viewed only within a procedure: a requisition or an access request in
course that covers the camera and the whole range; a levée de doute only where the city allows
it. Every way around the rule is tried here, on real recorded footage."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from cameras.purposes import RIGHT_OF_ACCESS, purpose_label
from compliance import services as compliance_services
from compliance.models import AccessRequest
from compliance.registers import REGISTERS
from csu.lib.times import paris_text
from evidence import replay as evidence_replay
from evidence import services as evidence_services
from evidence.models import Requisition, Status
from evidence.services import WindowRequest
from recordings import playback, procedures
from recordings.models import Segment
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.evidence.factories import RequisitionFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.recordings.procedures import (
    access_request_covering,
    key,
    request_key,
    requisition_covering,
)
from tests.recordings.retention import store_recorded
from tests.recordings.test_playback import BROWSER_ARGS, CHROMIUM, local, recorded  # noqa: F401

REASON = "Vérification d'un signalement"
OPERATIONAL_REASON = "Levée de doute sur un départ de feu signalé"


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    return tmp_path


@pytest.fixture
def camera(db, media, recorded):  # noqa: F811
    camera = CameraFactory(code="CAM-P01")
    store_recorded(camera, recorded)
    return camera


@pytest.fixture
def segments(camera) -> list[Segment]:
    return list(Segment.objects.filter(camera=camera).order_by("started_at"))


@pytest.fixture
def whole(segments):
    """The range of all the recorded footage."""
    return segments[0].started_at, segments[-1].ended_at


@pytest.fixture
def chief(supervisor, signed_in) -> Client:
    return signed_in(supervisor)


PURPOSE = "atteintes_personnes_biens"
PURPOSE_TEXT = purpose_label(PURPOSE)
ACCESS_TEXT = purpose_label(RIGHT_OF_ACCESS)


def create(camera, start, end, procedure, actor, reason=REASON) -> playback.Playback:
    return playback.playback_create(
        camera=camera,
        start=start,
        end=end,
        reason=reason,
        procedure=procedure,
        # An access request serves the right of access by itself; the rest names a purpose.
        purpose="" if procedure and procedure[0] == "access_request" else PURPOSE,
        actor=actor,
        session={},
    )


def post(client, camera, start, end, procedure: str, reason: str = REASON):
    return client.post(
        f"/enregistrements/relecture/{camera.code}/",
        {
            "procedure": procedure,
            "purpose": "" if procedure.startswith("access_request") else PURPOSE,
            "start": local(start),
            "end": local(end),
            "reason": reason,
        },
    )


def nothing_watched(media) -> bool:
    return not AuditEvent.objects.filter(action="recording.playback").exists() and not list(
        (media / "data" / "playback").glob("*.csuseg")
    )


# --- Which procedures are in course -------------------------------------------------------------


def test_requisitions_in_course_are_those_not_finished():
    assert {
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.APPROVED,
        Status.PARTLY_APPROVED,
        Status.EXPORTING,
        Status.READY,
        Status.HANDED_OVER,
    } == evidence_replay.IN_COURSE


def test_both_apps_register_their_procedures():
    assert procedures.kinds() == ["access_request", "requisition"]
    with pytest.raises(ValueError):
        procedures.register(procedures.OPERATIONAL, lambda camera, user: [])


@pytest.mark.django_db
def test_an_undecided_requisition_covers_its_windows_a_decided_one_its_approved_parts(
    camera, whole, magistrate
):
    start, end = whole
    other = CameraFactory(code="CAM-P02")
    requisition = RequisitionFactory(
        windows=[
            WindowRequest(camera.code, start - timedelta(minutes=10), start - timedelta(minutes=5)),
            WindowRequest(camera.code, start - timedelta(seconds=30), end),
            WindowRequest(other.code, start - timedelta(seconds=30), end),
        ]
    )
    [found] = procedures.covering(camera)
    assert found.key == key(requisition)
    assert found.reference == requisition.reference
    assert len(found.windows) == 2  # the other camera's window is not this camera's
    assert found.covers(start, end)

    _early, late, _elsewhere = requisition.windows.order_by("starts_at", "pk")
    part = (start + timedelta(seconds=1), late.ends_at)
    evidence_services.requisition_decide(
        requisition=requisition,
        outcome="approve_part",
        reason="La première période est sans rapport avec les faits.",
        actor=magistrate,
        window_ids=[late.pk],
        shortened={late.pk: part},
    )
    [found] = procedures.covering(camera)
    assert [(w.starts_at, w.ends_at) for w in found.windows] == [part]
    assert not found.covers(start, end)  # the part the magistrate cut off
    assert found.covers(*part)


# --- The happy paths, on real footage --------------------------------------------------------


@pytest.mark.django_db
def test_replay_within_an_approved_requisition_is_audited_with_it_and_registered(
    camera, whole, chief, supervisor, magistrate
):
    start, end = whole
    requisition = requisition_covering(camera, start, end, magistrate=magistrate)
    page = chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    assert f"Réquisition judiciaire {requisition.reference}" in page
    window = requisition.windows.get()
    assert paris_text(window.starts_at) in page and paris_text(window.ends_at) in page

    response = post(chief, camera, start, end, key(requisition))
    assert response.status_code == 302, response.content.decode()[:2000]
    player = chief.get(response["Location"]).content.decode()
    assert f"Réquisition judiciaire {requisition.reference}" in player
    token = re.search(r"/lecture/([^/]+)/$", response["Location"])[1]
    video = chief.get(f"/enregistrements/relecture/{camera.code}/lecture/{token}/video.mp4")
    assert video.status_code == 200 and b"".join(video.streaming_content)[4:8] == b"ftyp"

    event = AuditEvent.objects.get(action="recording.playback")
    assert event.details["basis"] == "requisition"
    assert event.details["procedure"] == {
        "kind": "requisition",
        "id": requisition.pk,
        "reference": requisition.reference,
        "label": f"Réquisition judiciaire {requisition.reference}",
    }
    # The register of accesses to images names the procedure in its reason column.
    [row] = [r for r in REGISTERS["acces-images"].rows(None, None) if r[1] == str(event.seq)]
    assert row[6] == f"Réquisition judiciaire {requisition.reference} — {PURPOSE_TEXT} : {REASON}"
    # ... and the purpose served in its own column.
    assert row[-1] == PURPOSE_TEXT


@pytest.mark.django_db
def test_replay_within_an_open_access_request(camera, whole, supervisor, dpo):
    start, end = whole
    request = access_request_covering(camera, start, end, dpo=dpo)
    prepared = create(camera, start, end, ("access_request", request.pk), supervisor)
    assert prepared.basis == f"Demande d'accès {request.reference}"
    event = AuditEvent.objects.get(action="recording.playback")
    assert event.details["procedure"]["reference"] == request.reference
    assert event.reason == f"Demande d'accès {request.reference} — {ACCESS_TEXT} : {REASON}"
    assert event.details["purpose"] == RIGHT_OF_ACCESS
    # The requester's name is not written in the reason of an access to images.
    assert "Martin" not in event.reason


@pytest.mark.django_db
def test_an_undecided_requisition_allows_checking_its_footage(camera, whole, supervisor):
    start, end = whole
    requisition = requisition_covering(camera, start, end)
    assert requisition.status == Status.SUBMITTED
    create(camera, start, end, ("requisition", requisition.pk), supervisor)
    assert AuditEvent.objects.filter(action="recording.playback").count() == 1


# --- Getting around the procedure ----------------------------------------------------------


@pytest.mark.django_db
def test_no_procedure_no_replay(camera, whole, supervisor, chief, media):
    start, end = whole
    with pytest.raises(playback.PlaybackError, match="que dans le cadre d'une procédure"):
        create(camera, start, end, None, supervisor)
    page = chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    assert 'id="no-procedure"' in page
    assert "la relecture de ses enregistrements n'est pas possible" in page
    assert "réquisition d'un officier de police judiciaire" in page
    assert '<form method="post"' not in page
    response = post(chief, camera, start, end, "")
    assert response.status_code == 200
    assert response.context["form"].errors["procedure"]
    assert nothing_watched(media)


@pytest.mark.django_db
def test_a_range_partly_outside_the_window_is_refused(camera, segments, supervisor, chief, media):
    requisition = requisition_covering(camera, segments[0].started_at, segments[0].ended_at)
    window = requisition.windows.get()
    # The window ends 2 s after the first segment: a range to the last one reaches past it.
    end = segments[-1].ended_at
    assert end > window.ends_at
    with pytest.raises(playback.PlaybackError, match="pas entièrement comprise"):
        create(camera, segments[0].started_at, end, ("requisition", requisition.pk), supervisor)
    # And one starting before it.
    before = window.starts_at - timedelta(seconds=5)
    with pytest.raises(playback.PlaybackError, match="pas entièrement comprise"):
        create(camera, before, segments[0].ended_at, ("requisition", requisition.pk), supervisor)
    response = post(chief, camera, segments[0].started_at, end, key(requisition))
    assert response.status_code == 200
    assert "pas entièrement comprise" in response.content.decode()
    assert paris_text(window.starts_at) in response.content.decode()
    assert nothing_watched(media)


@pytest.mark.django_db
def test_a_procedure_on_another_camera_is_refused(camera, whole, supervisor, chief, media, dpo):
    start, end = whole
    other = CameraFactory(code="CAM-P03")
    store_recorded(other, [])
    requisition = requisition_covering(other, start, end)
    request = access_request_covering(other, start, end, dpo=dpo)
    for procedure in (("requisition", requisition.pk), ("access_request", request.pk)):
        with pytest.raises(playback.PlaybackError, match="ne couvre pas la caméra CAM-P01"):
            create(camera, start, end, procedure, supervisor)
    # The page does not offer them, and a forged form is refused by the field.
    page = chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    assert requisition.reference not in page and request.reference not in page
    for forged in (key(requisition), request_key(request)):
        response = post(chief, camera, start, end, forged)
        assert response.status_code == 200
        assert "ne couvre pas cette caméra" in response.context["form"].errors["procedure"][0]
    assert nothing_watched(media)


def _reject(requisition, people):
    evidence_services.requisition_decide(
        requisition=requisition,
        outcome="reject",
        reason="Images sans rapport avec la procédure.",
        actor=people["magistrate"],
    )


def _cancel(requisition, people):
    evidence_services.requisition_cancel(
        requisition=requisition, reason="Auteur identifié par ailleurs.", actor=requisition.officer
    )


def _close(requisition, people):
    # Closing follows the handover of the package (tests/evidence cover that path): here only
    # the status matters.
    Requisition.objects.filter(pk=requisition.pk).update(
        status=Status.CLOSED, finished_at=timezone.now()
    )


def _expire(requisition, people):
    Requisition.objects.filter(pk=requisition.pk).update(
        status=Status.EXPIRED, finished_at=timezone.now()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("finish", [_reject, _cancel, _close, _expire])
def test_a_finished_requisition_allows_no_replay(
    camera, whole, supervisor, magistrate, chief, media, finish
):
    start, end = whole
    requisition = requisition_covering(camera, start, end)
    create(camera, start, end, ("requisition", requisition.pk), supervisor)  # in course: allowed
    before = AuditEvent.objects.filter(action="recording.playback").count()
    finish(requisition, {"magistrate": magistrate})
    with pytest.raises(playback.PlaybackError, match="n'est pas en cours"):
        create(camera, start, end, ("requisition", requisition.pk), supervisor)
    assert (
        requisition.reference
        not in chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    )
    response = post(chief, camera, start, end, key(requisition))
    assert response.status_code == 200 and response.context["form"].errors["procedure"]
    assert AuditEvent.objects.filter(action="recording.playback").count() == before


def _refuse(request, dpo):
    compliance_services.access_request_refuse(
        request=request, reason="unfounded", actor=dpo, note="Demande répétée."
    )


def _answered(request, dpo):
    # Answered with the extract: the status is what the rule reads (tests/compliance cover
    # the answer itself).
    AccessRequest.objects.filter(pk=request.pk).update(
        status=AccessRequest.Status.ANSWERED,
        outcome=AccessRequest.Outcome.EXTRACT,
        answered_at=timezone.now(),
        answered_by=dpo,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("close", [_refuse, _answered])
def test_an_answered_or_refused_access_request_allows_no_replay(
    camera, whole, supervisor, dpo, close
):
    start, end = whole
    request = access_request_covering(camera, start, end, dpo=dpo)
    create(camera, start, end, ("access_request", request.pk), supervisor)
    close(request, dpo)
    with pytest.raises(playback.PlaybackError, match="n'est pas en cours"):
        create(camera, start, end, ("access_request", request.pk), supervisor)
    assert procedures.covering(camera) == []


@pytest.mark.django_db
def test_a_procedure_id_given_as_another_kind_is_refused(camera, whole, supervisor, chief, media):
    start, end = whole
    requisition = requisition_covering(camera, start, end)
    assert not AccessRequest.objects.filter(pk=requisition.pk).exists()
    for forged in (("access_request", requisition.pk), ("signalement", requisition.pk)):
        with pytest.raises(playback.PlaybackError, match="n'est pas en cours"):
            create(camera, start, end, forged, supervisor)
    for forged in (
        f"access_request:{requisition.pk}",
        f"signalement:{requisition.pk}",
        f"requisition:{requisition.pk + 1000}",
        "requisition:abc",
        f"requisition:{requisition.pk}:1",
        procedures.OPERATIONAL,  # off by default
    ):
        response = post(chief, camera, start, end, forged)
        assert response.status_code == 200, forged
        assert response.context["form"].errors["procedure"], forged
    assert nothing_watched(media)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.OPERATOR, Role.OPJ, Role.DPO, Role.MAGISTRATE, Role.POLICE_STATION, Role.ADMIN]
)
def test_other_roles_cannot_replay_even_within_a_procedure(
    camera, whole, role, signed_in, media, police_service
):
    start, end = whole
    requisition = requisition_covering(camera, start, end)
    person = UserFactory(role=role, service=police_service if role == Role.OPJ else None)
    HabilitationFactory(user=person, all_cameras=True, can_live=True)
    with pytest.raises(PermissionDenied):
        create(camera, start, end, ("requisition", requisition.pk), person)
    assert post(signed_in(person), camera, start, end, key(requisition)).status_code == 403
    assert nothing_watched(media)


@pytest.mark.django_db
def test_a_supervisor_without_replay_habilitation_cannot_use_a_procedure(
    camera, whole, signed_in, media
):
    start, end = whole
    requisition = requisition_covering(camera, start, end)
    person = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=person, camera_codes=["CAM-AUTRE"], can_replay=True)
    with pytest.raises(PermissionDenied, match="ne couvre pas cette caméra"):
        create(camera, start, end, ("requisition", requisition.pk), person)
    assert post(signed_in(person), camera, start, end, key(requisition)).status_code == 403
    assert nothing_watched(media)


# --- The page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_choosing_a_window_prefills_the_range_in_paris_time(
    camera, whole, chief, dpo, magistrate, settings
):
    start, end = whole
    settings.RECORDING_PLAYBACK_MAX_SECONDS = 60
    requisition = requisition_covering(camera, start, end, magistrate=magistrate)
    request = access_request_covering(camera, start, end, dpo=dpo, margin=timedelta(minutes=5))
    page = chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    assert requisition.reference in page and request.reference in page
    assert f"?procedure=access_request%3A{request.pk}&amp;plage=0" in page
    assert "Levée de doute" not in page

    response = chief.get(
        f"/enregistrements/relecture/{camera.code}/?procedure={request_key(request)}&plage=0"
    )
    form = response.context["form"]
    assert form.initial["procedure"] == request_key(request)
    assert form.initial["start"] == request.starts_at
    # Cut to the longest range watched at once.
    assert form.initial["end"] == request.starts_at + timedelta(seconds=60)
    html = response.content.decode()
    assert f'value="{local(request.starts_at)}"' in html
    assert f'<option value="{request_key(request)}" selected>' in html
    assert response.context["day"] == timezone.localdate(request.starts_at)
    # A window number that does not exist falls back on the first; an unknown key on nothing.
    response = chief.get(
        f"/enregistrements/relecture/{camera.code}/?procedure={key(requisition)}&plage=9"
    )
    assert response.context["form"].initial["start"] == requisition.windows.get().starts_at
    response = chief.get(f"/enregistrements/relecture/{camera.code}/?procedure=requisition:0")
    assert response.status_code == 200 and not response.context["form"].initial


# --- Levée de doute ------------------------------------------------------------------------


@pytest.mark.django_db
def test_levee_de_doute_is_off_by_default(camera, whole, supervisor, chief, media, settings):
    assert settings.RECORDING_REPLAY_OPERATIONAL_HOURS == 0
    start, end = whole
    with pytest.raises(PermissionDenied, match="levée de doute"):
        create(camera, start, end, (procedures.OPERATIONAL, None), supervisor, OPERATIONAL_REASON)
    page = chief.get(f"/enregistrements/relecture/{camera.code}/?procedure=levee_de_doute")
    assert "Levée de doute" not in page.content.decode()
    assert not page.context["form"].initial
    response = post(chief, camera, start, end, procedures.OPERATIONAL, OPERATIONAL_REASON)
    assert response.status_code == 200 and response.context["form"].errors["procedure"]
    assert nothing_watched(media)


@pytest.mark.django_db
def test_levee_de_doute_when_on_covers_the_last_hours_with_a_longer_reason(
    camera,
    whole,
    supervisor,
    chief,
    media,
    settings,
    recorded,  # noqa: F811
):
    settings.RECORDING_REPLAY_OPERATIONAL_HOURS = 2
    start, end = whole
    page = chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    assert "Levée de doute : relire les 2 dernières heures sans procédure" in page
    assert "no-procedure" in page  # no procedure covers it: the page still says so

    # A reason long enough for a procedure is too short without one.
    with pytest.raises(playback.PlaybackError, match="20 caractères"):
        create(camera, start, end, (procedures.OPERATIONAL, None), supervisor, REASON[:15])
    response = post(chief, camera, start, end, procedures.OPERATIONAL, REASON[:15])
    assert response.status_code == 200 and response.context["form"].errors["reason"]

    response = post(chief, camera, start, end, procedures.OPERATIONAL, OPERATIONAL_REASON)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="recording.playback")
    assert event.details["basis"] == "levee_de_doute"
    assert event.reason == f"Levée de doute — {PURPOSE_TEXT} : {OPERATIONAL_REASON}"

    # Footage older than the last 2 hours: refused, even with a long reason.
    old = CameraFactory(code="CAM-P04")
    store_recorded(old, recorded, timedelta(hours=3))
    first = Segment.objects.filter(camera=old).earliest("started_at")
    last = Segment.objects.filter(camera=old).latest("started_at")
    with pytest.raises(playback.PlaybackError, match="seules les 2 dernières heures"):
        create(
            old,
            first.started_at,
            last.ended_at,
            (procedures.OPERATIONAL, None),
            supervisor,
            OPERATIONAL_REASON,
        )
    # A range that starts before the limit and ends after it is refused too.
    limit = timezone.now() - timedelta(hours=2)
    with pytest.raises(playback.PlaybackError, match="seules les 2 dernières heures"):
        playback.playback_basis(
            camera=camera,
            start=limit - timedelta(minutes=1),
            end=limit + timedelta(minutes=1),
            kind=procedures.OPERATIONAL,
            procedure_id=None,
            actor=supervisor,
            now=limit + timedelta(hours=2),
        )
    assert AuditEvent.objects.filter(action="recording.playback").count() == 1


@pytest.mark.django_db
def test_levee_de_doute_prefills_the_last_minutes(camera, chief, settings):
    settings.RECORDING_REPLAY_OPERATIONAL_HOURS = 1
    response = chief.get(f"/enregistrements/relecture/{camera.code}/?procedure=levee_de_doute")
    initial = response.context["form"].initial
    assert initial["procedure"] == procedures.OPERATIONAL
    assert initial["end"] - initial["start"] == timedelta(minutes=15)
    assert timezone.now() - initial["end"] < timedelta(minutes=1)


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_however_many_procedures_cover_the_camera(
    camera, whole, chief, dpo, magistrate
):
    start, end = whole
    url = f"/enregistrements/relecture/{camera.code}/"
    requisition_covering(camera, start, end, magistrate=magistrate)
    access_request_covering(camera, start, end, dpo=dpo)
    with CaptureQueriesContext(connection) as few:
        assert chief.get(url).status_code == 200
    for _ in range(3):
        requisition_covering(camera, start, end, magistrate=magistrate)
        access_request_covering(camera, start, end, dpo=dpo)
    with CaptureQueriesContext(connection) as many:
        response = chief.get(url)
    assert len(response.context["procedures"]) == 8
    assert len(many) == len(few)


# --- In a real browser, at phone and control-room widths ---------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1920])
def test_the_procedures_read_at_phone_and_control_room_widths(
    live_server, camera, whole, supervisor, dpo, magistrate, width
):
    sync_api = pytest.importorskip("playwright.sync_api")
    start, end = whole
    requisition = requisition_covering(camera, start, end, magistrate=magistrate)
    access_request_covering(camera, start, end, dpo=dpo)
    window_start = local(requisition.windows.get().starts_at)
    session = sign_in(Client(), supervisor).cookies["sessionid"].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/enregistrements/relecture/{camera.code}/")
            # Nothing widens the page: wide tables scroll inside it.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            # Choosing a window fills the form with its range and its procedure.
            with page.expect_navigation():
                page.click(f"#procedures a[href*='requisition%3A{requisition.pk}']")
            assert page.input_value("#id_procedure") == key(requisition)
            # A browser shows a whole minute without its seconds (HTML datetime-local).
            shown = page.input_value("#id_start")
            assert shown == window_start or f"{shown}:00" == window_start
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            browser.close()


# --- From the requisition's page ---------------------------------------------------------------


def test_the_requisition_page_links_each_window_to_its_replay_for_those_who_may(
    camera, whole, chief, supervisor, magistrate, signed_in, media
):
    start, end = whole
    requisition = requisition_covering(camera, start, end, magistrate=magistrate)
    detail = reverse("evidence:requisition_detail", args=[requisition.pk])
    page = chief.get(detail).content.decode()
    links = re.findall(r'href="([^"]+)" class="replay-link"', page)
    assert len(links) == 1
    link = links[0].replace("&amp;", "&")
    assert link.startswith(f"/enregistrements/relecture/{camera.code}/?")
    assert f"procedure=requisition%3A{requisition.pk}" in link
    # The link opens the replay page with this requisition and its window chosen.
    form = chief.get(link).content.decode()
    assert 'class="chosen"' in form
    window = requisition.windows.get()
    assert f'value="{local(window.starts_at)}"' in form

    # The magistrate and the officer read the page but replay nothing: no link for them.
    for reader in (magistrate, requisition.officer):
        other = signed_in(reader).get(detail).content.decode()
        assert "replay-link" not in other
    # A supervisor whose habilitation does not cover the camera gets no link either.
    person = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=person, camera_codes=["CAM-AUTRE"], can_replay=True)
    page = signed_in(person).get(detail).content.decode()
    assert "replay-link" not in page
    # Once the requisition is finished, the link goes.
    _close(requisition, {})
    assert "replay-link" not in chief.get(detail).content.decode()


# --- The purpose a replay serves (CSI L251-2) ------------------------------------------------


def _rescue_only(camera) -> None:
    """The camera's arrêté allows rescue and fire only (L251-2 8°)."""
    camera.authorization.purposes = ["secours_incendie"]
    camera.authorization.save()


@pytest.mark.django_db
def test_a_replay_for_a_purpose_the_arrete_does_not_list_is_refused(
    camera, whole, supervisor, magistrate, chief, media
):
    start, end = whole
    _rescue_only(camera)
    requisition = requisition_covering(camera, start, end, magistrate=magistrate)
    with pytest.raises(playback.PlaybackError, match="n'est pas autorisée pour la caméra CAM-P01"):
        create(camera, start, end, ("requisition", requisition.pk), supervisor)
    # The page offers only the arrêté's purposes and refuses another one sent anyway.
    page = chief.get(f"/enregistrements/relecture/{camera.code}/").content.decode()
    assert 'value="secours_incendie"' in page and 'value="atteintes_personnes_biens"' not in page
    response = post(chief, camera, start, end, key(requisition))
    assert response.status_code == 200
    assert "ne liste pas cette finalité" in response.content.decode()
    assert nothing_watched(media)


@pytest.mark.django_db
def test_a_replay_names_its_purpose(camera, whole, supervisor, magistrate, chief, media):
    start, end = whole
    requisition = requisition_covering(camera, start, end, magistrate=magistrate)
    with pytest.raises(playback.PlaybackError, match="Indiquez la finalité"):
        playback.playback_create(
            camera=camera,
            start=start,
            end=end,
            reason=REASON,
            procedure=("requisition", requisition.pk),
            purpose="",
            actor=supervisor,
            session={},
        )
    assert nothing_watched(media)
    _rescue_only(camera)
    prepared = playback.playback_create(
        camera=camera,
        start=start,
        end=end,
        reason=REASON,
        procedure=("requisition", requisition.pk),
        purpose="secours_incendie",
        actor=supervisor,
        session={},
    )
    assert prepared.token
    event = AuditEvent.objects.get(action="recording.playback")
    assert event.details["purpose"] == "secours_incendie"
    [row] = [r for r in REGISTERS["acces-images"].rows(None, None) if r[1] == str(event.seq)]
    assert row[-1] == "L251-2 8° — Secours aux personnes et défense contre l'incendie"


@pytest.mark.django_db
def test_an_access_request_replay_serves_the_right_of_access_and_nothing_else(
    camera, whole, supervisor, dpo, media
):
    start, end = whole
    request = access_request_covering(camera, start, end, dpo=dpo)
    with pytest.raises(playback.PlaybackError, match="Droit d'accès de la personne filmée"):
        playback.playback_create(
            camera=camera,
            start=start,
            end=end,
            reason=REASON,
            procedure=("access_request", request.pk),
            purpose="atteintes_personnes_biens",
            actor=supervisor,
            session={},
        )
    assert nothing_watched(media)
    create(camera, start, end, ("access_request", request.pk), supervisor)
    event = AuditEvent.objects.get(action="recording.playback")
    assert event.details["purpose"] == RIGHT_OF_ACCESS
    [row] = [r for r in REGISTERS["acces-images"].rows(None, None) if r[1] == str(event.seq)]
    assert row[-1].startswith("Droit d'accès de la personne filmée (RGPD art. 15")
