"""The quick-entry form in a real headless Chromium, with the keyboard alone."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from operations.models import Signalement
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_operator_records_a_signalement_with_the_keyboard_only(live_server, operator):
    sync_api = pytest.importorskip("playwright.sync_api")
    CameraFactory(code="CAM-GARE-01")
    session = sign_in(Client(), operator).cookies["sessionid"].value

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/exploitation/signalements/nouveau/")
            started = time.monotonic()
            # The category list has the focus on arrival; typing picks an option.
            assert page.evaluate("document.activeElement.id") == "id_category"
            keyboard = page.keyboard
            keyboard.type("Acc")
            keyboard.press("Tab")
            keyboard.type("Carrefour de la gare")
            keyboard.press("Tab")
            keyboard.type("Collision entre un bus et un scooter")
            keyboard.press("Tab")
            keyboard.type("CAM-GARE-01")
            keyboard.press("Tab")
            keyboard.press("Tab")  # police municipale
            keyboard.press("Space")
            with page.expect_navigation():
                keyboard.press("Enter")
            elapsed = time.monotonic() - started
            assert "enregistré" in page.content()
        finally:
            browser.close()

    signalement = Signalement.objects.get()
    assert elapsed < 15
    assert signalement.category == "accident"
    assert signalement.location == "Carrefour de la gare"
    assert signalement.description == "Collision entre un bus et un scooter"
    assert signalement.author == operator
    assert [c.code for c in signalement.cameras.all()] == ["CAM-GARE-01"]
    assert list(signalement.alerts.values_list("service", flat=True)) == ["police_municipale"]


def test_after_a_refused_entry_the_cursor_is_in_the_field_in_error(live_server, operator):
    sync_api = pytest.importorskip("playwright.sync_api")
    CameraFactory(code="CAM-002")
    session = sign_in(Client(), operator).cookies["sessionid"].value

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/exploitation/signalements/nouveau/")
            keyboard = page.keyboard
            keyboard.type("Inc")
            keyboard.press("Tab")
            keyboard.type("Place Saint-Léger")
            keyboard.press("Tab")
            keyboard.type("Fumée")
            keyboard.press("Tab")
            keyboard.type("cam 2 cam-99")  # the first typed loosely, the second unknown
            with page.expect_navigation():
                keyboard.press("Enter")
            assert "Caméra inconnue : cam-99." in page.content()
            assert page.evaluate("document.activeElement.id") == "id_cameras"
            # Corrected where the cursor is, saved with Enter: the loose code names CAM-002.
            page.fill("#id_cameras", "cam 2")
            page.focus("#id_cameras")
            with page.expect_navigation():
                keyboard.press("Enter")
            assert "enregistré" in page.content()
        finally:
            browser.close()

    assert [c.code for c in Signalement.objects.get().cameras.all()] == ["CAM-002"]
