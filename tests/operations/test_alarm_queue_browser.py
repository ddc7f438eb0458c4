"""The alarm queue in a real headless Chromium: a camera outage raises an alarm, the operator
acknowledges it from the dashboard with the keyboard alone, the supervisor reads who did it,
when and why in the history."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.signals import report_integrity_failure
from cameras.models import HealthStatus
from cameras.tasks import check_cameras_health
from csu.lib.times import paris_text
from operations.models import Alarm, AlarmKind, AlarmPriority, AlarmState
from operations.tasks import scan_alarms
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in


def _outside_the_browser_loop(work):
    """Run database work in a thread of its own: Playwright's loop runs in this one."""

    def run():
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _chain_broken() -> Alarm:
    """The audit chain's verification reports a failure: an urgent alarm."""
    report_integrity_failure(
        key="audit.chain:12",
        detector="audit.chain_broken",
        summary="Événement #12 : empreinte incorrecte.",
        details={},
        at=timezone.now(),
    )
    return Alarm.objects.get(kind=AlarmKind.INTEGRITY)


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_an_outage_is_acknowledged_by_keyboard_and_seen_by_the_supervisor(
    live_server, operator, supervisor, tmp_path
):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Nothing listens on this address: the health check finds the camera unreachable.
    camera = CameraFactory(code="CAM-GARE-01", name="Parvis de la gare")
    camera.stream_url = "rtsp://127.0.0.1:1/live"
    camera.save(update_fields=["stream_url"])
    assert check_cameras_health()["CAM-GARE-01"] == HealthStatus.UNREACHABLE
    scan_alarms()
    alarm = Alarm.objects.get(kind=AlarmKind.CAMERA_HEALTH)
    assert alarm.priority == AlarmPriority.URGENT and alarm.state == AlarmState.NEW

    operator_session = sign_in(Client(), operator).cookies["sessionid"].value
    supervisor_session = sign_in(Client(), supervisor).cookies["sessionid"].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            context.add_cookies(
                [{"name": "sessionid", "value": operator_session, "url": live_server.url}]
            )
            page = context.new_page()
            page.clock.install()  # the queue's refresh comes when the test moves the clock
            page.goto(f"{live_server.url}/exploitation/")
            queue = page.locator("#dash-alarms")
            item = queue.locator(f'li.alarm[data-alarm="{alarm.pk}"]')
            assert "Caméra CAM-GARE-01 (Parvis de la gare) : injoignable" in item.inner_text()
            assert "Urgente" in item.inner_text()
            assert page.locator("#alarm-keys").is_visible()
            assert page.locator("label.alarm-sound").is_visible()  # shown once the script runs

            page.keyboard.press("j")
            assert page.evaluate("document.activeElement.dataset.alarm") == str(alarm.pk)
            page.keyboard.press("a")
            comment = item.locator("input[name=comment]")
            assert comment.is_visible()
            assert page.evaluate("document.activeElement.name") == "comment"
            page.keyboard.type("Technicien de maintenance appelé")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.url.endswith("/exploitation/")
            acknowledged = page.locator(f'li.alarm[data-alarm="{alarm.pk}"] .alarm-ack')
            assert "Technicien de maintenance appelé" in acknowledged.inner_text()
            page.screenshot(path=str(tmp_path / "alarm-dashboard.png"), full_page=True)

            # With the sound on, a new urgent alarm arriving at the next refresh is announced.
            page.locator("#alarm-sound").check()
            broken = _outside_the_browser_loop(_chain_broken)
            page.clock.fast_forward("00:16")
            fresh = page.locator(f'li.alarm[data-alarm="{broken.pk}"]')
            fresh.wait_for()
            page.clock.run_for(500)
            assert page.locator("#dash-alarms").get_attribute("data-announced") == "1"
            assert "Journal d'audit : chaîne rompue" in fresh.inner_text()

            # A comment being typed survives the refresh; Escape puts it away.
            page.keyboard.press("j")
            assert page.evaluate("document.activeElement.dataset.alarm") == str(broken.pk)
            page.keyboard.press("a")
            page.keyboard.type("Vérification en cours")
            page.clock.fast_forward("00:16")
            page.clock.run_for(500)
            assert fresh.locator("input[name=comment]").input_value() == "Vérification en cours"
            page.keyboard.press("Escape")
            assert page.evaluate("document.activeElement.dataset.alarm") == str(broken.pk)
            assert not fresh.locator("input[name=comment]").is_visible()
            page.keyboard.press("k")  # the first alarm stays the first
            assert page.evaluate("document.activeElement.dataset.alarm") == str(broken.pk)
            assert page.evaluate("window.localStorage.getItem('csu.alarm-sound')") == "on"

            # The operator's dashboard goes, with its refresh timers: nothing of it may answer
            # (or navigate) once the supervisor's session replaces the operator's.
            page.close()
            context.clear_cookies()
            context.add_cookies(
                [{"name": "sessionid", "value": supervisor_session, "url": live_server.url}]
            )
            page = context.new_page()
            page.goto(f"{live_server.url}/exploitation/alarmes/historique/?state=acquittee")
            row = page.locator(f'tr.alarm-row[data-alarm="{alarm.pk}"]')
            text = row.locator("td.alarm-ack").inner_text()
        finally:
            browser.close()

    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == operator
    assert alarm.acknowledgement == "Technicien de maintenance appelé"
    assert str(operator) in text and "Technicien de maintenance appelé" in text
    assert paris_text(alarm.acknowledged_at, seconds=False) in text
