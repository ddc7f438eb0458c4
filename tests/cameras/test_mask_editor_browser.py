"""The mask editor in a real headless Chromium: draw a polygon, move it, drag, add and delete
corners, undo and redo, save it, see it kept."""

from __future__ import annotations

import pytest
from django.test import Client

from cameras.models import PrivacyMask
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.polygon_editor import IMAGE_READY, Stage, wait_until

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
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
            page.goto(f"{live_server.url}/cameras/{camera.code}/masques/")
            wait_until(page, IMAGE_READY)
            stage = Stage(page)
            page.click("#mask-new")
            for x, y in [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]:
                stage.click(x, y)
            page.click("#mask-finish")
            assert page.locator("#mask-svg polygon").count() == 1
            # Move it a little to the right by dragging.
            stage.drag((0.4, 0.4), (0.5, 0.4))

            corners = page.locator("#mask-svg circle.mask-vertex")
            assert corners.count() == 4
            # A corner dragged too far, undone with Ctrl+Z.
            stage.drag((0.7, 0.2), (0.9, 0.05))
            page.keyboard.press("Control+z")
            # A corner added in the middle of the lower edge and pulled down; undone with the
            # button, redone with the other.
            stage.drag((0.5, 0.6), (0.5, 0.7))
            assert corners.count() == 5
            page.click("#mask-undo")
            assert corners.count() == 4
            page.click("#mask-redo")
            assert corners.count() == 5
            # A corner chosen then deleted (the upper right one), then the deletion undone.
            stage.click(0.7, 0.2)
            page.click("#mask-delete-vertex")
            assert corners.count() == 4
            page.keyboard.press("Control+z")
            assert corners.count() == 5
            assert not errors, errors
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
    assert len(polygon["points"]) == 5
    assert polygon["points"][3] == pytest.approx([0.5, 0.7], abs=0.03)
    assert min(xs) == pytest.approx(0.3, abs=0.03) and max(xs) == pytest.approx(0.7, abs=0.03)
    assert min(ys) == pytest.approx(0.2, abs=0.03) and max(ys) == pytest.approx(0.7, abs=0.03)
    assert polygon["points"][1] == pytest.approx([0.7, 0.2], abs=0.03)
