"""The Police nationale's station at the wall: the agreement's cameras only, sessions registered."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import services as camera_services
from cameras.models import Camera
from compliance.registers import REGISTERS, as_csv
from live.models import EndReason, ViewingSession
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.live.helpers import communicator, messages_until, outcome, session_cookie

STATION_LABEL = "Poste déporté de la Police nationale"


@pytest.fixture
def station(db):
    person = UserFactory(username="poste.police", role=Role.POLICE_STATION)
    HabilitationFactory(user=person, all_cameras=True, can_live=True)
    return person


def _wall_data(page: str) -> list[dict]:
    start = page.index('id="wall-data"')
    return json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])


@pytest.mark.django_db
def test_the_wall_lists_only_the_cameras_of_the_agreement(signed_in, station):
    CameraFactory(code="CAM-P01", name="Parvis de la gare", police_relay=True)
    CameraFactory(code="CAM-P02", name="Cour de la mairie", police_relay=False)
    page = signed_in(station).get("/direct/").content.decode()
    assert [camera["code"] for camera in _wall_data(page)] == ["CAM-P01"]
    assert "Parvis de la gare" in page and "Cour de la mairie" not in page


@pytest.mark.django_db
def test_the_wall_offers_the_station_no_signalement_and_no_preset_editing(
    signed_in, station, operator
):
    CameraFactory(police_relay=True)
    page = signed_in(station).get("/direct/").content.decode()
    assert 'data-signalement-url=""' in page
    assert 'id="wall-save-preset"' not in page
    saved = page.index('id="wall-saved-data"')
    data = json.loads(page[page.index(">", saved) + 1 : page.index("</script>", saved)])
    assert data["can_edit_presets"] is False
    # The room's own staff keep the tile's link to the quick entry.
    operator_page = signed_in(operator).get("/direct/").content.decode()
    assert 'data-signalement-url="/exploitation/signalements/nouveau/"' in operator_page


@pytest.mark.django_db
def test_the_station_saves_its_own_wall_but_not_a_rooms_preset(signed_in, station):
    CameraFactory(code="CAM-P03", police_relay=True)
    client = signed_in(station)
    mine = client.post(
        "/api/live/layouts/",
        {"name": "Gare", "size": 1, "tiles": ["CAM-P03"]},
        content_type="application/json",
    )
    assert mine.status_code == 201, mine.content
    from live.models import WallRoom

    room = WallRoom.objects.create(name="Salle du CSU")
    preset = client.post(
        "/api/live/presets/",
        {"name": "Nuit", "size": 1, "tiles": ["CAM-P03"], "room": room.pk},
        content_type="application/json",
    )
    assert preset.status_code == 403
    assert client.get("/direct/salles/").status_code == 403


# --- The stream ----------------------------------------------------------------------------------


def _attempt(code: str, cookie: str) -> int | None:
    async def scenario():
        comm = communicator(code, cookie)
        result = await outcome(comm)
        await comm.disconnect()
        return result

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_live")
def test_a_camera_outside_the_agreement_refuses_the_stream(clips, station):
    camera = CameraFactory(code="CAM-P04", stream_url=clips["motion"].as_uri())
    assert _attempt(camera.code, session_cookie(station)) == 4403
    assert not ViewingSession.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_live")
def test_outside_the_habilitation_a_listed_camera_refuses_the_stream(clips):
    camera = CameraFactory(
        code="CAM-P05", sector="Gare", stream_url=clips["motion"].as_uri(), police_relay=True
    )
    person = UserFactory(role=Role.POLICE_STATION)
    HabilitationFactory(user=person, sectors=["Centre"], can_live=True)
    assert _attempt(camera.code, session_cookie(person)) == 4403


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_live")
def test_a_listed_camera_streams_and_the_session_enters_the_dpos_register(
    clips, station, signed_in, dpo
):
    camera = CameraFactory(
        code="CAM-P06", name="Parvis", stream_url=clips["motion"].as_uri(), police_relay=True
    )
    cookie = session_cookie(station)

    async def scenario():
        comm = communicator(camera.code, cookie)
        assert await outcome(comm) is None
        await messages_until(comm, lambda m: isinstance(m, bytes), timeout=15)
        await comm.disconnect()

    async_to_sync(scenario)()
    [session] = ViewingSession.objects.all()
    assert session.user == station and session.end_reason == EndReason.CLOSED
    [event] = AuditEvent.objects.filter(action="live.session")
    assert event.actor_id == station.pk and event.target_label.startswith("CAM-P06")

    register = REGISTERS["sessions-direct"]
    [row] = register.rows(None, None)
    assert row[2] == station.get_username() and row[3] == STATION_LABEL and row[4] == "CAM-P06"
    assert STATION_LABEL.encode() in as_csv(register, [row])
    page = signed_in(dpo).get("/conformite/registres/sessions-direct/").content.decode()
    assert STATION_LABEL in page and "CAM-P06" in page


def _unlist(camera, actor) -> None:
    camera_services.camera_update(
        camera=Camera.objects.get(pk=camera.pk),
        actor=actor,
        police_relay=False,
        verify_source=False,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_live")
def test_taking_the_camera_off_the_agreement_stops_the_stream_within_seconds(
    clips, station, supervisor
):
    camera = CameraFactory(code="CAM-P07", stream_url=clips["motion"].as_uri(), police_relay=True)
    cookie = session_cookie(station)

    async def scenario():
        comm = communicator(camera.code, cookie)
        assert await outcome(comm) is None
        await messages_until(comm, lambda m: isinstance(m, bytes), timeout=15)
        await sync_to_async(_unlist, thread_sensitive=False)(camera, supervisor)
        seen = await messages_until(
            comm, lambda m: isinstance(m, dict) and "closed" in m, timeout=5
        )
        assert {"type": "ended", "reason": EndReason.REVOKED} in seen
        assert seen[-1] == {"closed": 4403}

    async_to_sync(scenario)()
    assert ViewingSession.objects.get().end_reason == EndReason.REVOKED


@pytest.mark.django_db
def test_the_demo_station_watches_the_demo_cameras_of_the_agreement(settings, tmp_path):
    from accounts.demo import load_demo_people
    from cameras.demo import load_demo_cameras
    from live.selectors import wall_cameras

    settings.DATA_DIR = str(tmp_path)
    people = {user.username: user for user in load_demo_people()}
    load_demo_cameras()
    station = people["poste.police"]
    assert station.role == Role.POLICE_STATION and station.requires_second_factor
    [habilitation] = station.habilitations.all()
    assert habilitation.rights == ["live"] and habilitation.all_cameras
    assert [camera.code for camera in wall_cameras(station)] == ["CAM-001", "CAM-003"]
    # The room's operator, on the same cameras, is not bound by the agreement.
    assert len(wall_cameras(people["operateur"])) == 5


@pytest.mark.browser
@pytest.mark.slow
def test_in_a_browser_the_station_plays_a_listed_camera_with_no_signalement_link(
    asgi_server, clock_camera
):
    sync_api = pytest.importorskip("playwright.sync_api")
    CameraFactory(code="CAM-011", name="Parvis", stream_url=clock_camera.url, police_relay=True)
    CameraFactory(code="CAM-012", name="Mairie", stream_url=clock_camera.url)
    person = UserFactory(role=Role.POLICE_STATION)
    HabilitationFactory(user=person, all_cameras=True, can_live=True)
    cookie = session_cookie(person)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": asgi_server}])
            page = context.new_page()
            page.goto(f"{asgi_server}/direct/")
            assert page.locator("#wall-cameras li[data-code]").count() == 1
            # Camera 12 is not in the agreement: typing its number finds nothing.
            page.click("#tile-0")
            page.keyboard.type("12")
            page.keyboard.press("Enter")
            assert page.get_attribute("#tile-0", "data-camera") in (None, "")
            page.keyboard.type("11")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "() => document.querySelector('#tile-0').dataset.state === 'live'"
                " && Number(document.querySelector('#tile-0').dataset.frames) > 5",
                timeout=30000,
            )
            assert page.locator("#tile-0 .tile-report").is_hidden()
            assert page.get_attribute("#tile-0 .tile-report", "href") is None
        finally:
            browser.close()
