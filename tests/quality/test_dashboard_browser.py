"""The dashboard in a real headless Chromium: its parts refresh themselves under the strict
content security policy, show Paris time in a browser set to another zone, and say when they
cannot refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from csu.lib.times import paris_text
from operations import views
from operations.models import Category, Shift
from operations.services import signalement_create
from tests.conftest import sign_in
from tests.quality.test_journeys_browser import chromium  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

#: Collects the policy's refusals in the page, whatever logs them.
WATCH_POLICY = """
window.policyViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.policyViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def _new_york_page(browser, base_url: str, user):
    """A page of a browser in New York's zone, signed in as ``user`` (second factor given)."""
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="fr-FR", timezone_id="America/New_York"
    )
    session = sign_in(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])
    context.add_init_script(WATCH_POLICY)
    page = context.new_page()
    errors: list[str] = []

    def console(message) -> None:
        # The site has no icon; the browser's own request for one is not the page's doing.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def test_dashboard_refreshes_in_paris_time_under_the_strict_policy(
    live_server,
    chromium,  # noqa: F811
    operator,
    monkeypatch,
):
    monkeypatch.setattr(views, "DASHBOARD_REFRESH_SECONDS", 1)
    started = timezone.now() - timedelta(hours=3)
    Shift.objects.create(operator=operator, started_at=started)
    page, errors = _new_york_page(chromium, live_server.url, operator)
    assert page.evaluate("new Date().getTimezoneOffset()") in (240, 300)  # New York, not Paris

    page.goto(f"{live_server.url}/exploitation/")
    assert "Fin de service" in page.inner_text("main")
    assert f"depuis {paris_text(started, seconds=False)}" in page.inner_text("#dash-duty")
    assert page.evaluate("[htmx.config.allowEval, htmx.config.allowScriptTags]") == [False, False]

    # A signalement logged meanwhile appears by itself, its time on Paris's clock.
    occurred = timezone.now() - timedelta(minutes=20)
    signalement = signalement_create(
        actor=operator,
        category=Category.ACCIDENT,
        occurred_at=occurred,
        location="Place du Palais de Justice",
        description="Accrochage entre deux voitures.",
    )
    row = page.locator("#dash-signalements tr", has_text=signalement.number)
    row.wait_for(timeout=10_000)
    assert paris_text(occurred, seconds=False) in row.inner_text()
    assert "Signalements en cours (1)" in page.inner_text("#dash-signalements")
    assert f"depuis {paris_text(started, seconds=False)}" in page.inner_text("#dash-duty")
    assert not page.locator("#dash-status.bad").count()
    assert page.evaluate("window.policyViolations") == []
    assert page.evaluate("document.querySelectorAll('style, [style]').length") == 0
    assert errors == []

    # Once the session has ended, the parts keep what they showed and the status turns red.
    Session.objects.all().delete()
    page.locator("#dash-status.bad").wait_for(timeout=10_000)
    assert page.get_attribute("#dash-status", "title").startswith("Mise à jour impossible")
    page.wait_for_timeout(1_500)
    assert signalement.number in page.inner_text("#dash-signalements")
    assert page.locator("#id_username").count() == 0  # no sign-in page swapped in
    assert page.evaluate("window.policyViolations") == []
