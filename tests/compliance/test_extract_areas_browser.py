"""Drawing a moving blur area in a real headless Chromium, on footage the recorder wrote.

The agent draws the requester's area and a third party's at the start of the period, moves the
time slider to its end, drags the requester's corners to where he walked and the third party's
area after him, undoes and redoes a drag, then prepares the extract: the stored areas carry
the two key positions each.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.roles import Role
from audit.models import AuditEvent
from tests.compliance.footage import recorded_request
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory
from tests.polygon_editor import IMAGE_READY, Stage, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def near(points, expected, tolerance: float = 0.02) -> bool:
    return len(points) == len(expected) and all(
        abs(a - b) <= tolerance
        for p, q in zip(points, expected, strict=True)
        for a, b in zip(p, q, strict=True)
    )


def test_agent_draws_an_area_that_follows_the_requester(live_server, tmp_path, dpo):
    sync_api = pytest.importorskip("playwright.sync_api")
    request = recorded_request(tmp_path, dpo)
    agent = UserFactory(username="chef.extrait", role=Role.SUPERVISOR)
    HabilitationFactory(
        user=agent, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    session = sign_in(Client(), agent).cookies["sessionid"].value
    base = f"{live_server.url}/conformite/demandes-acces/{request.pk}"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1400})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
            page.goto(f"{base}/")
            page.click("text=Marquer les zones sur l'image")
            page.wait_for_url(f"{base}/extrait/CAM-DA-W/zones/")
            image = page.locator("#mask-image")
            wait_until(page, IMAGE_READY)
            stage = Stage(page)
            # The picture takes the page's width beside the menu column.
            main_width = page.evaluate("document.querySelector('main').clientWidth")
            assert stage.width() > 0.85 * main_width, (stage.width(), main_width)
            click, drag = stage.click, stage.drag

            # At 0 s: the requester on the left, a third party's face on top of him.
            page.click("#mask-new")
            for corner in rect(0.05, 0.1, 0.3, 0.6):
                click(*corner)
            page.click("#mask-finish")
            page.click("#mask-new")
            for corner in rect(0.05, 0.1, 0.3, 0.25):
                click(*corner)
            page.click("#mask-finish")
            page.select_option("#mask-mode", "blur")
            assert page.locator("#mask-svg polygon").count() == 2
            assert page.locator("#mask-svg polygon.mask-blur").count() == 1

            # To the end of the period: the picture follows the slider.
            page.focus("#area-time")
            page.keyboard.press("End")
            wait_until(page, "document.getElementById('mask-image').src.endsWith('?t=2')")
            wait_until(page, IMAGE_READY)
            assert "+2,0 s" in page.locator("#area-time-label").inner_text()

            # The requester walked right: his corners are dragged there one by one.
            click(0.15, 0.45)  # choose his area (below the third party's)
            assert page.locator("#mask-svg circle.mask-vertex").count() == 4
            drag((0.3, 0.1), (0.95, 0.1))
            drag((0.3, 0.6), (0.95, 0.6))
            drag((0.05, 0.1), (0.7, 0.1))
            drag((0.05, 0.6), (0.6, 0.6))
            # A slip: undone with Ctrl+Z, redone with Ctrl+Y, then corrected by a drag.
            page.keyboard.press("Control+z")
            page.keyboard.press("Control+y")
            drag((0.6, 0.6), (0.7, 0.6))
            assert "0,0 s · 2,0 s" in page.locator("#area-keys").inner_text()
            # The third party's area is moved after him, whole.
            click(0.15, 0.17)
            drag((0.15, 0.17), (0.8, 0.17))
            # A corner added on the third party's lower edge, then removed again.
            assert page.locator("#mask-svg circle.mask-midpoint").count() == 4
            drag((0.825, 0.25), (0.825, 0.3))
            assert page.locator("#mask-svg circle.mask-vertex").count() == 5
            page.click("#mask-delete-vertex")
            assert page.locator("#mask-svg circle.mask-vertex").count() == 4

            with page.expect_navigation():
                page.click("#mask-save")
            assert "Extrait flouté de la caméra CAM-DA-W prêt" in page.content()
            assert image.count() == 0
            assert not errors, errors
        finally:
            browser.close()

    row = request.footage.get()
    [keep] = row.keep_areas
    [blur] = row.blur_areas
    assert [key["t"] for key in keep["keys"]] == [0, 2]
    assert near(keep["keys"][0]["points"], rect(0.05, 0.1, 0.3, 0.6))
    assert near(keep["keys"][1]["points"], rect(0.7, 0.1, 0.95, 0.6))
    assert [key["t"] for key in blur["keys"]] == [0, 2]
    assert near(blur["keys"][0]["points"], rect(0.05, 0.1, 0.3, 0.25))
    assert near(blur["keys"][1]["points"], rect(0.7, 0.1, 0.95, 0.25))
    assert row.extract_path and row.extract_built_by == agent
    # Each picture the agent looked at is on record: the start, then the end of the period.
    viewed = AuditEvent.objects.filter(action="access_request.frame_viewed").order_by("pk")
    assert viewed.count() >= 2 and viewed.first().actor_id == agent.pk
