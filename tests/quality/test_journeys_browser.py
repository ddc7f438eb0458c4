"""The users' journeys in a real headless Chromium, on a live server, with recorded footage."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from evidence import verifier
from evidence.models import Requisition, Status, Window
from operations.models import Shift, Signalement
from recordings.models import Hold, Segment
from tests.evidence.conftest import PDF
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PARIS = ZoneInfo("Europe/Paris")


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def sign_in_page(browser, base_url: str, user):
    """A new browser context signed in through the real pages: password, then the TOTP code."""
    device = TOTPDevice.objects.create(user=user, name="téléphone", confirmed=True)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="fr-FR"
    )
    page = context.new_page()
    page.goto(f"{base_url}/comptes/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/comptes/otp/"), page.url
    page.fill("#id_token", _code(device))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/comptes/" not in page.url, page.content()
    return page


def _local(moment) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def chromium(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls between the
    # steps are plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_operator_clocks_in_sees_camera_health_and_logs_a_signalement(
    live_server, chromium, operator, recorded_camera, steps
):
    page = sign_in_page(chromium, live_server.url, operator)
    page.goto(f"{live_server.url}/exploitation/")
    steps("tableau-de-bord", page)
    with page.expect_navigation():
        page.get_by_role("button", name="Prendre mon service").click()
    assert "Prise de service enregistrée" in page.content()
    assert page.get_by_role("button", name="Fin de service").is_visible()
    steps("en-service", page)
    assert Shift.objects.filter(operator=operator, ended_at__isnull=True).count() == 1

    page.goto(f"{live_server.url}/cameras/sante/")
    row = page.locator("tr", has_text=recorded_camera.code)
    assert row.count() == 1
    assert recorded_camera.name in row.inner_text()
    steps("sante-cameras", page)

    page.goto(f"{live_server.url}/exploitation/signalements/nouveau/")
    assert page.evaluate("document.activeElement.id") == "id_category"
    keyboard = page.keyboard
    keyboard.type("Incendie")
    keyboard.press("Tab")
    keyboard.type("Place Saint-Léger")
    keyboard.press("Tab")
    keyboard.type("Fumée sortant d'une poubelle")
    keyboard.press("Tab")
    keyboard.type(recorded_camera.code)
    keyboard.press("Tab")
    keyboard.press("Tab")  # police municipale
    keyboard.press("Space")
    steps("signalement-saisi", page)
    with page.expect_navigation():
        keyboard.press("Enter")
    assert "enregistré" in page.content()
    steps("signalement-enregistre", page)

    signalement = Signalement.objects.get()
    assert signalement.category == "incendie"
    assert signalement.author == operator
    assert [c.code for c in signalement.cameras.all()] == [recorded_camera.code]


def test_requisition_from_intake_to_verified_single_download(
    live_server,
    chromium,
    recorded_camera,
    opj,
    magistrate,
    supervisor,
    eager_celery,
    steps,
    tmp_path,
):
    segments = list(Segment.objects.filter(camera=recorded_camera).order_by("started_at"))
    start = segments[0].started_at.replace(microsecond=0) + timedelta(seconds=1)
    middle = segments[len(segments) // 2].started_at.replace(microsecond=0)
    end = segments[-1].ended_at.replace(microsecond=0)
    assert start < middle < end
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()) + 0.2)
    scan = tmp_path / "requisition-signee.pdf"
    scan.write_bytes(PDF)

    # The OPJ submits the requisition with its scan: two periods, both frozen at once.
    officer = sign_in_page(chromium, live_server.url, opj)
    officer.goto(f"{live_server.url}/requisitions/nouvelle/")
    officer.fill("#id_procedure_number", "2026/004711")
    officer.select_option("#id_legal_frame", "60-1")
    officer.fill("#id_facts", "Vol à l'arraché rue de Boigne.")
    officer.fill("#id_justification", "Identifier l'auteur et sa direction de fuite.")
    officer.set_input_files("#id_attachment", str(scan))
    for index, (begin, finish) in enumerate([(start, middle), (middle, end)]):
        officer.select_option(f"#id_w-{index}-camera", recorded_camera.code)
        officer.fill(f"#id_w-{index}-starts_at", _local(begin))
        officer.fill(f"#id_w-{index}-ends_at", _local(finish))
    steps("opj-formulaire", officer)
    with officer.expect_navigation():
        officer.get_by_role("button", name="Déposer").click()
    steps("opj-deposee", officer)
    assert "les images disponibles sont gelées" in officer.content(), officer.content()
    assert officer.locator("td .ok", has_text="gelées").count() == 2
    requisition = Requisition.objects.get()
    assert requisition.attachment_name == "requisition-signee.pdf"
    assert Hold.objects.filter(reference_id=str(requisition.pk), released_at=None).count() == 2
    detail_url = f"{live_server.url}/requisitions/{requisition.pk}/"

    # The magistrate approves only the first period, with a reason.
    judge = sign_in_page(chromium, live_server.url, magistrate)
    judge.goto(detail_url)
    first, second = requisition.windows.order_by("starts_at")
    judge.check("input[name=outcome][value=approve_part]")
    judge.check(f"input[name=windows][value='{first.pk}']")
    judge.fill("#id_reason", "Seule la première période concerne les faits.")
    steps("magistrat-decision", judge)
    with judge.expect_navigation():
        judge.get_by_role("button", name="Enregistrer la décision").click()
    assert "Décision enregistrée" in judge.content()
    steps("magistrat-decide", judge)
    requisition.refresh_from_db()
    assert requisition.status == Status.PARTLY_APPROVED
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.decision == Window.Decision.APPROVED
    assert second.decision == Window.Decision.REFUSED

    # The supervisor exports (in-process), checks the files, releases: the link is shown once.
    chief = sign_in_page(chromium, live_server.url, supervisor)
    chief.goto(detail_url)
    with chief.expect_navigation():
        chief.get_by_role("button", name="Préparer l'extraction").click()
    assert "Prête" in chief.content(), chief.content()
    assert chief.locator("td", has_text="clips/").count() == 1
    steps("chef-extraction-prete", chief)
    with chief.expect_navigation():
        chief.get_by_role("button", name=re.compile("Paquet vérifié")).click()
    steps("chef-lien-delivre", chief)
    match = re.search(r"https?://[^\s<]+/requisitions/telechargement/[^/\s<]+/", chief.content())
    assert match, chief.content()
    link = match.group(0)

    # The OPJ downloads once; the second attempt is refused.
    officer.goto(detail_url)
    assert "lien de téléchargement à usage unique" in officer.content()
    with officer.expect_download() as download_info:
        officer.evaluate("url => { window.location.href = url; }", link)
    package = tmp_path / "paquet.zip"
    download_info.value.save_as(package)
    response = officer.goto(link)
    assert response.status == 400
    assert "déjà servi" in officer.content()
    steps("opj-second-telechargement-refuse", officer)

    # The downloaded package verifies offline, holds the approved period only.
    assert verifier.verify(package) == []
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        clips = [n for n in archive.namelist() if "/clips/" in n and not n.endswith("/")]
    assert len(clips) == 1
    requisition.refresh_from_db()
    assert requisition.status == Status.HANDED_OVER
    actions = set(
        AuditEvent.objects.filter(target_id=str(requisition.pk)).values_list("action", flat=True)
    )
    assert {
        "requisition.submitted",
        "requisition.partly_approved",
        "export.ready",
        "export.released",
        "export.downloaded",
        "export.download_refused",
    } <= actions, actions
