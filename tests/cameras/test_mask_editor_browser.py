"""The mask editor in a real headless Chromium: draw a polygon, save it, see it kept."""

from __future__ import annotations

import pytest
from django.test import Client

from cameras.models import PrivacyMask
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_supervisor_draws_and_saves_a_polygon(live_server, supervisor, clips):
    sync_api = pytest.importorskip("playwright.sync_api")
    camera = CameraFactory(code="CAM-ED", stream_url=clips["still"].as_uri())
    session = sign_in(Client(), supervisor).cookies["sessionid"].value

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/cameras/{camera.code}/masques/")
            page.wait_for_function(
                "document.getElementById('mask-image').complete"
                " && document.getElementById('mask-image').naturalWidth > 0"
            )
            box = page.locator("#mask-svg").bounding_box()
            page.click("#mask-new")
            for x, y in [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]:
                page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
            page.click("#mask-finish")
            assert page.locator("#mask-svg polygon").count() == 1
            # Move it a little to the right by dragging.
            page.mouse.move(box["x"] + 0.4 * box["width"], box["y"] + 0.4 * box["height"])
            page.mouse.down()
            page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.4 * box["height"], steps=5)
            page.mouse.up()
            page.fill("#id_note", "Fenêtres de l'immeuble d'en face")
            with page.expect_navigation():
                page.click("#mask-save")
            assert "version 1" in page.content()
            assert page.locator("#mask-svg polygon").count() == 1
        finally:
            browser.close()

    mask = PrivacyMask.objects.get(camera=camera)
    assert mask.version == 1 and mask.author == supervisor
    assert mask.note == "Fenêtres de l'immeuble d'en face"
    [polygon] = mask.polygons
    assert polygon["mode"] == "software"
    xs = [p[0] for p in polygon["points"]]
    ys = [p[1] for p in polygon["points"]]
    assert len(polygon["points"]) == 4
    assert min(xs) == pytest.approx(0.3, abs=0.03) and max(xs) == pytest.approx(0.7, abs=0.03)
    assert min(ys) == pytest.approx(0.2, abs=0.03) and max(ys) == pytest.approx(0.6, abs=0.03)
