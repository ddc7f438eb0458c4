"""Saved walls in a real headless Chromium: save the wall, reload, load it back; room presets."""

from __future__ import annotations

import pytest

from live import layouts
from live.models import WallRoom
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.live.helpers import session_cookie
from tests.live.test_wall_browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def cameras_in_tiles(page) -> list[str]:
    return page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.dataset.camera || '')")


def test_a_saved_wall_comes_back_after_a_reload(asgi_server, clips):
    for n in (1, 2, 3):
        CameraFactory(
            code=f"CAM-00{n}", name=f"Rue {n}", sector="Centre", stream_url=clips["motion"].as_uri()
        )
    CameraFactory(code="CAM-004", name="Gare", sector="Gare", stream_url=clips["motion"].as_uri())
    operator = UserFactory(role="operator")
    HabilitationFactory(user=operator, sectors=["Centre"], can_live=True)
    supervisor = UserFactory(role="supervisor")
    room = WallRoom.objects.create(name="Poste de police")
    layouts.layout_create(
        actor=supervisor,
        name="Gare et centre",
        size=4,
        tiles=["CAM-004", "CAM-001", None, None],
        room=room,
    )
    cookie = session_cookie(operator)

    with pytest.importorskip("playwright.sync_api").sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": asgi_server}])
            page = context.new_page()
            page.goto(f"{asgi_server}/direct/")
            page.click(".wall-layout[data-layout='4']")
            page.click("#tile-0")
            page.click("#wall-cameras li[data-code='CAM-002']")
            page.click("#tile-3")
            page.keyboard.type("3")
            page.keyboard.press("Enter")
            page.click("#tile-2")
            page.fill("#wall-tour-cameras", "1, 3")
            page.fill("#wall-tour-seconds", "20")
            page.click("#wall-tour")
            page.fill("#wall-saved-name", "Nuit")
            page.click("#wall-save")
            page.wait_for_function(
                "() => document.querySelector('#wall-saved-message').textContent.includes('Nuit')"
                " && document.querySelector('#wall-saved-message').className === 'ok'"
            )

            # Another wall, then a reload: the station's own memory shows the other wall.
            page.click(".wall-layout[data-layout='1']")
            page.click("#tile-0")
            page.click("#wall-cameras li[data-code='CAM-001']")
            page.reload()
            assert cameras_in_tiles(page) == ["CAM-001"]

            page.select_option("#wall-saved-list", label="Nuit (4)")
            page.click("#wall-load")
            assert cameras_in_tiles(page) == ["CAM-002", "", "CAM-001", "CAM-003"]
            assert page.get_attribute("#tile-2", "data-tour") == "CAM-001 CAM-003"

            # The room's preset: chosen room remembered by the station; a camera outside the
            # operator's habilitation shows as refused, the others play.
            page.select_option("#wall-room", label="Poste de police")
            page.reload()
            assert page.eval_on_selector("#wall-room", "s => s.value") == str(room.pk)
            page.select_option("#wall-saved-list", label="Gare et centre (4)")
            page.click("#wall-load")
            assert cameras_in_tiles(page) == ["CAM-004", "CAM-001", "", ""]
            assert page.get_attribute("#tile-0", "data-state") == "refused"
            page.wait_for_function(
                "() => document.querySelector('#tile-1').dataset.state !== 'refused'"
                " && Number(document.querySelector('#tile-1').dataset.frames) > 0",
                timeout=20000,
            )
            # An operator does not change the room's presets.
            page.fill("#wall-saved-name", "Autre nom")
            page.click("#wall-rename")
            assert page.inner_text("#wall-saved-message") == (
                "Seul un chef de salle modifie les préréglages d'une salle."
            )
        finally:
            browser.close()
    assert layouts.presets(room).get().name == "Gare et centre"
    assert [x.name for x in layouts.own_layouts(operator)] == ["Nuit"]
