"""The officer's, the station's and the magistrate's pages on a 390-pixel-wide phone, in a real
headless Chromium: no page scrolls sideways, and the menu opens from its button."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client

from accounts.roles import Role
from evidence import services
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.evidence.documents import night_requisition, released_export
from tests.factories import HabilitationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
#: Set to a folder to keep a picture of each page (to look at them, not checked).
SCREENSHOTS = os.environ.get("CSU_SCREENSHOTS", "")

#: How much wider than the window the page is: 0 when nothing scrolls sideways.
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
#: The elements sticking out to the right of the window, to name them when the page overflows.
CULPRITS = """() => Array.from(document.querySelectorAll('body *'))
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter((e) => !e.closest('.table-scroll, table'))
  .slice(0, 5)
  .map((e) => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)"""


@pytest.fixture
def requisitions(opj, magistrate, supervisor):
    """One requisition waiting for the magistrate, one decided and ready for download."""
    cameras = [
        CameraFactory(code="CAM-DST1", name="Parvis de la gare routière"),
        CameraFactory(code="CAM-DST2", name="Carrefour de l'avenue du Maréchal-Leclerc"),
    ]
    waiting = night_requisition(opj, cameras, procedure="2025/DST-1")
    granted = night_requisition(opj, cameras, procedure="2025/DST-2")
    first, _second = granted.windows.order_by("starts_at")
    services.requisition_decide(
        requisition=granted,
        outcome="approve_part",
        window_ids=[first.pk],
        reason="La seconde période est postérieure aux faits.",
        actor=magistrate,
    )
    released_export(granted, supervisor)
    return waiting, granted


@pytest.fixture
def station(db):
    person = UserFactory(username="poste.police", role=Role.POLICE_STATION)
    HabilitationFactory(user=person, all_cameras=True, can_live=True)
    CameraFactory(code="CAM-P01", name="Parvis de la gare", police_relay=True)
    return person


def _session(person) -> str:
    """A signed-in session's cookie (taken before Playwright runs: it holds an event loop)."""
    return sign_in(Client(), person).cookies["sessionid"].value


def _phone(browser, live_server, session: str):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    return context


def _open_pages(browser, live_server, session, name, paths: list[str]) -> dict[str, object]:
    """Each page's overflow in pixels and what sticks out (only the pages that overflow)."""
    context = _phone(browser, live_server, session)
    page = context.new_page()
    overflowing = {}
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, (name, path)
        if SCREENSHOTS:
            picture = Path(SCREENSHOTS) / f"{name}{path.replace('/', '_')}.png"
            page.screenshot(path=str(picture), full_page=True)
        if (extra := page.evaluate(OVERFLOW)) > 0:
            overflowing[path] = (extra, page.evaluate(CULPRITS))
    context.close()
    return overflowing


def _check_menu(browser, live_server, session: str, entry: str) -> None:
    """On a phone the menu is folded; its button opens it and an entry leads to its page."""
    context = _phone(browser, live_server, session)
    page = context.new_page()
    page.goto(f"{live_server.url}/accueil/")
    menu = page.locator("#main-nav")
    button = page.get_by_role("button", name="Menu")
    assert button.is_visible()
    assert not menu.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    assert menu.is_visible()
    assert button.get_attribute("aria-expanded") == "true"
    assert page.evaluate(OVERFLOW) <= 0
    with page.expect_navigation():
        menu.get_by_role("link", name=entry).click()
    assert page.locator("#main-nav a[aria-current=page]").inner_text() == entry
    assert not page.locator("#main-nav").is_visible()  # folded again on the new page
    context.close()


def test_the_officer_and_the_magistrate_use_their_pages_on_a_phone(
    live_server, opj, magistrate, station, requisitions
):
    sync_api = pytest.importorskip("playwright.sync_api")
    waiting, granted = requisitions
    sessions = {person.role: _session(person) for person in (opj, magistrate, station)}
    pages = {
        Role.OPJ: [
            "/accueil/",
            "/requisitions/",
            "/requisitions/nouvelle/",
            f"/requisitions/{waiting.pk}/",
            f"/requisitions/{granted.pk}/",  # the extraction to download
        ],
        Role.MAGISTRATE: [
            "/accueil/",
            "/requisitions/",
            f"/requisitions/{waiting.pk}/",  # the decision form
            f"/requisitions/{granted.pk}/",
        ],
        Role.POLICE_STATION: ["/accueil/"],
    }
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            overflowing = {
                role: found
                for role, paths in pages.items()
                if (found := _open_pages(browser, live_server, sessions[role], role, paths))
            }
            assert overflowing == {}, overflowing
            _check_menu(browser, live_server, sessions[Role.OPJ], "Réquisitions")
            _check_menu(browser, live_server, sessions[Role.MAGISTRATE], "Réquisitions")
            _check_menu(browser, live_server, sessions[Role.POLICE_STATION], "Mur d'images")
        finally:
            browser.close()


def test_the_pages_show_what_they_must_on_a_phone(live_server, opj, magistrate, requisitions):
    """The contents the width test walks through are the real ones: the decision form, the
    download button, the stacked periods."""
    sync_api = pytest.importorskip("playwright.sync_api")
    waiting, granted = requisitions
    judge, officer = _session(magistrate), _session(opj)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = _phone(browser, live_server, judge)
            page = context.new_page()
            page.goto(f"{live_server.url}/requisitions/{waiting.pk}/")
            decision = page.locator("#decision-form")
            assert decision.is_visible()
            submit = decision.get_by_role("button", name="Enregistrer la décision")
            box = submit.bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"]
            # The windows table is read as cards: one camera's period under another.
            cells = page.locator("#windows tbody tr").first.locator("td")
            first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
            assert first and second and second["y"] >= first["y"] + first["height"] - 1
            context.close()

            context = _phone(browser, live_server, officer)
            page = context.new_page()
            page.goto(f"{live_server.url}/requisitions/{granted.pk}/")
            download = page.get_by_role("button", name="Télécharger l'extraction")
            box = download.bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"]
            context.close()
        finally:
            browser.close()
