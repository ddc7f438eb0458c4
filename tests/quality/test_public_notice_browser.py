"""The public information page on a 390-pixel phone, in a real headless Chromium: a passer-by
who scanned the sign's code reads it without zooming or scrolling sideways, in French or in
English chosen from the page itself."""

from __future__ import annotations

import pytest

from cameras.purposes import Purpose
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.quality.test_journeys_browser import chromium  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

#: Elements wider than the screen (a table, a fingerprint, an address that does not wrap).
OVERFLOWING = """
() => [...document.querySelectorAll("main *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map((e) => e.tagName + (e.id ? "#" + e.id : "") + " " + e.textContent.slice(0, 40))
"""


def test_the_public_notice_reads_on_a_phone_in_french_and_in_english(
    live_server,
    chromium,  # noqa: F811
    steps,
):
    centre = AuthorizationFactory(
        number="73-2025-0042",
        purposes=[Purpose.TRAFFIC_FLOWS, Purpose.PERSONS_AND_PROPERTY],
        perimeter="Centre-ville, gare et abords de l'hôtel de ville.",
    )
    CameraFactory(authorization=centre, retention_days=10)
    CameraFactory(authorization=centre, retention_days=15, police_relay=True)
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="fr-FR"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/public/information/")
    steps("notice-fr", page)
    assert page.locator("h1").inner_text() == "Vidéoprotection : information du public"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(OVERFLOWING) == []
    # The retention table is stacked: each line's period is labelled, not in a far column.
    period = page.locator("#durees-conservation td").first
    assert period.is_visible()
    assert page.evaluate(
        "(cell) => getComputedStyle(cell, '::before').content", period.element_handle()
    ).startswith('"Durée :')
    # Body text stays legible: no font under 14 CSS pixels.
    smallest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('main p, main li, main dd, main td')]"
        ".map((e) => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 14

    # The visitor switches to English with the page's own selector.
    with page.expect_navigation():
        page.select_option("#language", "en")
    steps("notice-en", page)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "CCTV: information for the public"
    assert "Prefectoral order no. 73-2025-0042" in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(OVERFLOWING) == []
    context.close()
