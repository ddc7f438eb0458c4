"""The camera map in a real headless Chromium, with no tile server configured: the cameras are
drawn as markers on a plain background with their sectors' names, the sector filter hides the
others, a marker's popup opens the camera's page, and the page asks nothing of any other host;
with the city's tile server configured, its tiles are drawn under the content security policy."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cameras.models import Camera, CameraStatus, HealthStatus
from csu.lib.maps import tile_csp_source, tile_template
from recordings.models import RecorderLease
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}

#: Elements of the page wider than the screen (Leaflet's panes aside: the map clips them).
OVERFLOWING = """
() => [...document.querySelectorAll("main *")]
  .filter((e) => !e.closest(".leaflet-map-pane"))
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map((e) => e.tagName + (e.id ? "#" + e.id : "") + " " + e.className)
"""


def _cameras() -> None:
    now = timezone.now()
    for code, name, sector, lat, lng, health in [
        ("CAM-C01", "Place Saint-Léger", "Centre-ville", "45.5660", "5.9210", HealthStatus.OK),
        ("CAM-C02", "Rue de Boigne", "Centre-ville", "45.5672", "5.9196", HealthStatus.BLURRED),
        ("CAM-B01", "Rond-point de Bissy", "Bissy", "45.5750", "5.8900", HealthStatus.OK),
        # A second sensor of the head of CAM-C02, at the same place.
        ("CAM-C03", "Rue de Boigne (est)", "Centre-ville", "45.5672", "5.9196", HealthStatus.OK),
    ]:
        camera = CameraFactory(
            code=code,
            name=name,
            sector=sector,
            latitude=Decimal(lat),
            longitude=Decimal(lng),
            health_status=health,
        )
        RecorderLease.objects.create(
            camera=camera,
            holder="recorder-1",
            state=RecorderLease.State.RECORDING,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + timedelta(hours=1),
        )
    CameraFactory(code="CAM-M01", name="Halles", sector="Centre-ville", latitude=None)
    CameraFactory(
        code="CAM-X01",
        name="Quai",
        sector="Bissy",
        latitude=Decimal("45.57"),
        longitude=Decimal("5.90"),
        status=CameraStatus.OUT_OF_SERVICE,
    )


def _watch(page) -> list[str]:
    """Failed requests and requests to hosts other than the test server, as they happen."""
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))

    def outside(request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            problems.append(f"outside: {request.url}")

    page.on("request", outside)
    page.on("pageerror", lambda error: problems.append(f"error: {error}"))
    # A refusal of the content security policy (an inline style, a tile host) is logged here.
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    # The map's own files and states answer (the browser's /favicon.ico aside).
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status}: {response.url}")
            if response.status >= 400 and ("/static/" in response.url or "/carte/" in response.url)
            else None
        ),
    )
    return problems


def _visible_markers(page) -> list[str]:
    return sorted(
        page.eval_on_selector_all(".map-pin[data-code]", "ns => ns.map(n => n.dataset.code)")
    )


def _appears(locator, seconds: float = 5) -> bool:
    try:
        locator.wait_for(timeout=seconds * 1000)
    except PlaywrightTimeout:
        return False
    return True


def _open_popup(page, code: str) -> None:
    """Click a marker once the map has stopped moving (the sector filter refits it); a click
    Leaflet took for the end of a pan is given again, as a person would."""
    page.wait_for_selector("#camera-map:not(.leaflet-zoom-anim)")
    popup = page.locator(".leaflet-popup-content")
    for _attempt in range(3):
        page.click(f'.map-pin[data-code="{code}"]')
        if _appears(popup):
            return
    popup.wait_for()


def test_the_room_sees_its_cameras_filters_a_sector_and_opens_a_camera(
    live_server, operator, settings, tmp_path
):
    sync_api = pytest.importorskip("playwright.sync_api")
    assert not settings.CSU_MAP_TILE_URL
    _cameras()
    session = sign_in(Client(), operator).cookies["sessionid"].value

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            problems = _watch(page)
            page.goto(f"{live_server.url}/cameras/carte/")
            page.wait_for_selector(".map-pin[data-code]")

            # Every placed camera is a marker, coloured by its state; no tile is asked for.
            assert _visible_markers(page) == ["CAM-B01", "CAM-C01", "CAM-C02", "CAM-C03", "CAM-X01"]
            assert page.get_attribute('.map-pin[data-code="CAM-C01"]', "data-state") == (
                "in_service"
            )
            assert "state-degraded" in page.get_attribute('.map-pin[data-code="CAM-C02"]', "class")
            assert "state-down" in page.get_attribute('.map-pin[data-code="CAM-X01"]', "class")
            assert page.locator(".leaflet-tile").count() == 0
            assert "camera-map-plain" in page.get_attribute("#camera-map", "class")
            sectors = page.locator(".map-sector-label").all_inner_texts()
            assert sorted(s.strip().casefold() for s in sectors) == ["bissy", "centre-ville"]
            # The camera without coordinates is listed beside the map.
            assert page.locator('#map-unplaced li[data-code="CAM-M01"]').is_visible()
            page.screenshot(path=tmp_path / "map-1920.png")

            # Choosing a sector hides the other sectors' cameras (and their names).
            page.select_option("#map-sector", "Bissy")
            assert _visible_markers(page) == ["CAM-B01", "CAM-X01"]
            assert [
                s.strip().casefold() for s in page.locator(".map-sector-label").all_inner_texts()
            ] == ["bissy"]
            assert not page.locator('#map-unplaced li[data-code="CAM-M01"]').is_visible()
            assert page.url.endswith("/cameras/carte/?sector=Bissy")
            page.select_option("#map-sector", "")
            assert len(_visible_markers(page)) == 5
            # Two sensors at one place are drawn side by side, each one clickable.
            c02 = page.locator('.map-pin[data-code="CAM-C02"]').bounding_box()
            c03 = page.locator('.map-pin[data-code="CAM-C03"]').bounding_box()
            assert abs(c02["x"] - c03["x"]) >= c02["width"] and c02["y"] == c03["y"]

            # A marker's popup tells its state and opens the camera's page.
            popup = page.locator(".leaflet-popup-content")
            _open_popup(page, "CAM-C02")
            text = popup.inner_text()
            assert "CAM-C02" in text and "Rue de Boigne" in text and "Centre-ville" in text
            assert "Dégradée" in text and "Image floue" in text
            page.screenshot(path=tmp_path / "map-popup.png")
            with page.expect_navigation():
                popup.locator("a.map-open").click()
            assert page.url == f"{live_server.url}/cameras/CAM-C02/"
            assert "CAM-C02" in page.locator("h1").inner_text()

            # The camera's page leads back to it on the map, its popup open.
            with page.expect_navigation():
                page.click("text=voir sur la carte")
            assert page.url == f"{live_server.url}/cameras/carte/?camera=CAM-C02"
            popup.wait_for()
            assert popup.inner_text().startswith("CAM-C02")

            # The operator may watch it live: the popup's second link puts it on the wall.
            live_link = popup.locator("a.map-live")
            assert live_link.get_attribute("href") == "/direct/?camera=CAM-C02"
            wall = context.new_page()  # the wall's own video sockets are not this test's
            wall.goto(f"{live_server.url}{live_link.get_attribute('href')}")
            wall.wait_for_selector('.tile.selected[data-camera="CAM-C02"]')
            wall.close()

            # On a phone, the map and the list stack without scrolling sideways.
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            small = phone.new_page()
            problems += _watch(small)
            small.goto(f"{live_server.url}/cameras/carte/")
            small.wait_for_selector(".map-pin[data-code]")
            assert small.evaluate("document.documentElement.scrollWidth") <= 390
            assert small.locator("#camera-map").bounding_box()["width"] <= 390
            small.screenshot(path=tmp_path / "map-390.png", full_page=True)
            assert problems == []
        finally:
            browser.close()


def test_the_public_page_shows_the_places_without_state(live_server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    _cameras()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            page = context.new_page()
            problems = _watch(page)
            page.goto(f"{live_server.url}/public/information/")
            page.wait_for_selector(".map-pin[data-code]")
            assert _visible_markers(page) == ["CAM-B01", "CAM-C01", "CAM-C02", "CAM-C03", "CAM-X01"]
            classes = page.eval_on_selector_all(
                ".map-pin[data-code]", "ns => ns.map(n => n.className)"
            )
            assert all("state-public" in c and "state-down" not in c for c in classes)
            page.click('.map-pin[data-code="CAM-C01"]')
            popup = page.locator(".leaflet-popup-content")
            popup.wait_for()
            assert "Place Saint-Léger" in popup.inner_text()
            assert popup.locator("a").count() == 0
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.evaluate(OVERFLOWING) == []
            page.locator("#camera-map").screenshot(path=tmp_path / "public-390.png")

            # The same map in English, on a control-room screen.
            wide = browser.new_context(viewport={"width": 1920, "height": 1080})
            english = wide.new_page()
            problems += _watch(english)
            english.goto(f"{live_server.url}/public/information/")
            with english.expect_navigation():
                english.select_option("#language", "en")
            english.wait_for_selector(".map-pin[data-code]")
            assert english.locator("#emplacements").inner_text() == "Where the cameras are"
            assert len(_visible_markers(english)) == 5
            english.locator("#camera-map").screenshot(path=tmp_path / "public-1920-en.png")
            assert problems == []
        finally:
            browser.close()


def _unreachable(code: str) -> None:
    """The health check's verdict, written from another thread as a worker would (Playwright's
    sync API runs an event loop in this one)."""

    def write() -> None:
        Camera.objects.filter(code=code).update(health_status=HealthStatus.UNREACHABLE)
        connection.close()

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()


def test_the_room_map_refreshes_the_states_every_thirty_seconds(live_server, operator):
    sync_api = pytest.importorskip("playwright.sync_api")
    _cameras()
    session = sign_in(Client(), operator).cookies["sessionid"].value

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            problems = _watch(page)
            page.clock.install()
            page.goto(f"{live_server.url}/cameras/carte/")
            marker = '.map-pin[data-code="CAM-C01"]'
            page.wait_for_selector(marker + '[data-state="in_service"]')

            _unreachable("CAM-C01")
            page.clock.fast_forward(29_000)
            page.wait_for_timeout(300)
            assert page.get_attribute(marker, "data-state") == "in_service"  # not yet
            page.clock.fast_forward(2_000)
            page.wait_for_selector(marker + '[data-state="down"]')
            assert "state-down" in page.get_attribute(marker, "class")
            assert page.locator("#map-status").inner_text().startswith("États actualisés à ")
            page.click(marker)
            assert "Injoignable" in page.locator(".leaflet-popup-content").inner_text()

            # Signed out meanwhile: the states are kept and the line says they are stale.
            context.clear_cookies()
            page.clock.fast_forward(31_000)
            page.wait_for_selector("#map-status.bad")
            assert "non actualisés" in page.locator("#map-status").inner_text()
            assert page.get_attribute(marker, "data-state") == "down"
            assert problems == []
        finally:
            browser.close()


class _TileServer:
    """The city's tile server, on this machine: a grey 256-pixel PNG for any tile asked."""

    def __init__(self) -> None:
        picture = io.BytesIO()
        Image.new("RGB", (256, 256), (200, 210, 220)).save(picture, format="PNG")
        tile = picture.getvalue()
        self.asked: list[str] = []
        asked = self.asked

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_configured_tile_server_draws_the_map_under_the_policy(live_server, operator, settings):
    sync_api = pytest.importorskip("playwright.sync_api")
    tiles = _TileServer()
    template = f"http://127.0.0.1:{tiles.port}/plan/{{z}}/{{x}}/{{y}}.png"
    # What csu.settings does with CSU_MAP_TILE_URL at start.
    settings.CSU_MAP_TILE_URL = tile_template("CSU_MAP_TILE_URL", template)
    settings.CSU_MAP_TILE_ATTRIBUTION = "© Ville de Chambéry <plan>"
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "img-src": [
            *settings.CONTENT_SECURITY_POLICY["img-src"],
            tile_csp_source("CSU_MAP_TILE_URL", template),
        ],
    }
    _cameras()
    session = sign_in(Client(), operator).cookies["sessionid"].value

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            problems = _watch(page)
            page.goto(f"{live_server.url}/cameras/carte/")
            page.wait_for_selector(".leaflet-tile-loaded")
            assert len(_visible_markers(page)) == 5
            # Tiles drawn, not the plain background with the sectors' names.
            assert "camera-map-plain" not in page.get_attribute("#camera-map", "class")
            assert page.locator(".map-sector-label").count() == 0
            assert all(path.startswith("/plan/") for path in tiles.asked) and tiles.asked
            # The attribution is text: its "<plan>" is shown, never read as markup.
            assert (
                "© Ville de Chambéry <plan>"
                in page.locator(".leaflet-control-attribution").inner_text()
            )
            assert problems == []
        finally:
            browser.close()
            tiles.close()
