"""The alarm queue in a real headless Chromium: a camera outage raises an alarm, the operator
acknowledges it from the dashboard with the keyboard alone, the supervisor reads who did it,
when and why in the history."""

from __future__ import annotations

import pytest
from django.test import Client

from cameras.models import HealthStatus
from cameras.tasks import check_cameras_health
from csu.lib.times import paris_text
from operations.models import Alarm, AlarmKind, AlarmPriority, AlarmState
from operations.tasks import scan_alarms
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in

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

            context.clear_cookies()
            context.add_cookies(
                [{"name": "sessionid", "value": supervisor_session, "url": live_server.url}]
            )
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
