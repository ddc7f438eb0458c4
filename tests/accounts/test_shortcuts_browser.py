"""The keyboard shortcuts beside the menu, in a real headless Chromium: "n" opens the new
signalement, "/" goes to the search field, "?" lists the keys; none acts while typing."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREEN = {"width": 1920, "height": 1080}


def _page(browser, live_server, session: str):
    context = browser.new_context(viewport=SCREEN)
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    return context.new_page()


def _active(page) -> str:
    return page.evaluate("document.activeElement.name || document.activeElement.tagName")


def test_the_operator_works_the_room_with_the_shortcuts(live_server, operator):
    sync_api = pytest.importorskip("playwright.sync_api")
    session = sign_in(Client(), operator).cookies["sessionid"].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = _page(browser, live_server, session)
            page.goto(f"{live_server.url}/accueil/")
            # A control-room screen: the menu in its column, the page using the rest.
            menu = page.locator("#main-nav").bounding_box()
            main = page.locator("main").bounding_box()
            assert menu is not None and main is not None
            assert menu["x"] == 0 and main["x"] >= menu["width"]
            assert main["width"] >= SCREEN["width"] - menu["width"] - 60
            # The keys are shown beside the button they press.
            hint = page.locator('a[data-shortcut="n"] kbd')
            assert hint.is_visible() and hint.inner_text() == "n"

            # "?" lists the keys; Escape closes the list.
            help_list = page.locator("#shortcuts-help")
            assert not help_list.is_visible()
            page.keyboard.press("?")
            assert help_list.is_visible()
            listed = help_list.inner_text()
            assert "Nouveau signalement" in listed and "Rechercher un signalement" in listed
            page.keyboard.press("n")  # the open list keeps the keys
            assert page.url == f"{live_server.url}/accueil/"
            page.keyboard.press("Escape")
            assert not help_list.is_visible()
            # The button beside the menu opens it too.
            page.get_by_role("button", name="Raccourcis").click()
            assert help_list.is_visible()
            page.get_by_role("button", name="Fermer").click()
            assert not help_list.is_visible()

            # Keys kept by the pages (the alarm queue's) do nothing here.
            for key in ("a", "j", "k", "x"):
                page.keyboard.press(key)
            assert page.url == f"{live_server.url}/accueil/"

            # "/" on a page without a search field opens the signalements' search, ready.
            with page.expect_navigation():
                page.keyboard.press("/")
            assert page.url == f"{live_server.url}/exploitation/signalements/"
            assert _active(page) == "q"
            # Typing in the field: "n" is a letter of the search, not the shortcut.
            page.keyboard.type("incendie n")
            assert page.url == f"{live_server.url}/exploitation/signalements/"
            assert page.locator("input[name=q]").input_value() == "incendie n"
            # Out of the field, "/" comes back to it.
            page.locator("h1").click()
            assert _active(page) == "BODY"
            page.keyboard.press("/")
            assert _active(page) == "q"
            page.locator("h1").click()

            # "n" opens the quick entry of a signalement, its first field ready.
            with page.expect_navigation():
                page.keyboard.press("n")
            assert page.url == f"{live_server.url}/exploitation/signalements/nouveau/"
            assert _active(page) == "category"
            # Ctrl, Alt or Meta with a key belong to the browser: nothing happens.
            page.locator("h1").click()
            page.keyboard.press("Control+n")
            assert page.url == f"{live_server.url}/exploitation/signalements/nouveau/"
        finally:
            browser.close()


def test_the_officer_has_no_signalement_key_but_the_list_and_the_page_search(live_server, opj):
    sync_api = pytest.importorskip("playwright.sync_api")
    session = sign_in(Client(), opj).cookies["sessionid"].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = _page(browser, live_server, session)
            page.goto(f"{live_server.url}/accueil/")
            assert page.locator("[data-shortcut]").count() == 0
            page.keyboard.press("n")
            page.keyboard.press("/")
            assert page.url == f"{live_server.url}/accueil/"
            page.keyboard.press("?")
            listed = page.locator("#shortcuts-help").inner_text()
            assert "Nouveau signalement" not in listed
            assert "Aller au champ de recherche de la page" in listed
        finally:
            browser.close()
