"""The users' journeys in a real headless Chromium, on a live server, with recorded footage."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pdfplumber
import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import actions as audit_actions
from audit import services as audit_services
from audit.models import AuditEvent
from compliance import pack as audit_pack_module
from compliance.models import Breach
from compliance.registers import local
from csu.lib.times import file_stamp, paris_text
from evidence import manifest as evidence_manifest
from evidence import verifier
from evidence.forms import paris_input
from evidence.models import DownloadLink, Export, Requisition, Status
from operations.models import Shift, Signalement
from recordings.clock import server_clock_check
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


def _recorded_at(monkeypatch, moment: datetime) -> AuditEvent:
    """An audit event (a nightly chain check) recorded as if at ``moment``."""
    with monkeypatch.context() as patch:
        patch.setattr(audit_services, "timezone", SimpleNamespace(now=lambda: moment))
        return audit_services.record("audit.chain_verified", actor="verification-nocturne")


def _csv(archive: zipfile.ZipFile, root: str, name: str) -> list[dict[str, str]]:
    text = archive.read(f"{root}/{name}").decode("utf-8")
    assert text.startswith("\ufeff"), name
    text = text[1:]
    if text.startswith("# "):  # the audit journal opens with how to recompute its hashes
        text = text.split("\r\n", 1)[1]
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _paris(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M:%S").replace(tzinfo=PARIS)


def check_audit_pack(
    location: Path,
    folder: Path,
    *,
    start: datetime,
    end: datetime,
    outside: set[int],
    signalement: Signalement,
    requisition: Requisition,
    users: list,
) -> None:
    """The pack verifies; its audit journal and registers hold each action, nothing outside."""
    # The signature and every file's digest: the application's check and the bundled verifier.
    assert audit_pack_module.verify(location) == []
    with zipfile.ZipFile(location) as archive:
        root = location.stem
        names = set(archive.namelist())
        archive.extractall(folder)
        assert archive.read(f"{root}/{audit_pack_module.REPORT_NAME}").startswith(b"%PDF")
        manifest = json.loads(archive.read(f"{root}/manifest.json"))
        events = _csv(archive, root, "journal-audit.csv")
        registers = {
            slug: _csv(archive, root, f"registres/{slug}.csv")
            for slug in ("acces-images", "gels", "extractions", "remises")
        }
    assert f"{root}/verify.py" in names
    city_key = evidence_manifest.signer().fingerprint  # as the public information page states
    bundled = subprocess.run(  # the pack's own verifier, on the pack just saved
        [sys.executable, str(folder / root / "verify.py"), "--fingerprint", city_key],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bundled.returncode == 0, bundled.stdout + bundled.stderr
    assert "OK" in bundled.stdout
    assert manifest["period"]["start"]["utc"].startswith(start.astimezone(UTC).isoformat()[:19])

    # The audit journal: exactly the events of the period, none from before or after it.
    by_seq = {int(row["seq"]): row for row in events}
    in_period = AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    assert set(by_seq) == set(in_period.values_list("seq", flat=True))
    assert not outside & set(by_seq), outside
    assert manifest["audit_events"]["count"] == len(events)
    for row in events:
        moment = datetime.fromisoformat(row["occurred_at_utc"])
        assert start <= moment < end, row

    def found(event: AuditEvent) -> dict[str, str]:
        row = by_seq.get(event.seq)
        assert row is not None, f"{event.action} #{event.seq} is missing from the pack"
        assert (row["action"], row["target_type"], row["target_id"], row["hash"]) == (
            event.action,
            event.target_type,
            event.target_id,
            event.hash,
        ), row
        return row

    def one(code: str, target) -> dict[str, str]:
        audit_actions.get(code)  # a registered action code, not a guess
        matches = AuditEvent.objects.filter(
            action=code, target_type=target._meta.label_lower, target_id=str(target.pk)
        )
        assert matches.count() == 1, (code, list(matches.values_list("seq", flat=True)))
        return found(matches.get())

    # Each action of the journey, on its own object.
    one("signalement.created", signalement)
    for code in (
        "requisition.submitted",
        "requisition.partly_approved",
        "export.started",
        "export.ready",
        "export.released",
        "export.link_issued",
        "export.downloaded",
        "export.download_refused",
    ):
        one(code, requisition)
    holds = Hold.objects.filter(reference_id=str(requisition.pk))
    placed = AuditEvent.objects.filter(
        action="recording.hold_placed", details__reference_id=str(requisition.pk)
    )
    assert placed.count() == holds.count() == 3
    assert {json.loads(found(e)["details"])["hold"] for e in placed} == {h.pk for h in holds}
    for user in users:
        assert AuditEvent.objects.filter(action="auth.login", actor_id=user.pk).exists(), user
        for event in AuditEvent.objects.filter(action="auth.login", actor_id=user.pk):
            found(event)
    built = AuditEvent.objects.filter(action="compliance.audit_pack_built").get()
    assert found(built)["actor_id"] == str(users[-1].pk)

    # The registers: holds, extraction, handover; the accesses are the period's access events.
    for slug, rows in registers.items():
        for row in rows:
            assert start <= _paris(next(iter(row.values()))) < end, (slug, row)
    access_codes = {a.code for a in audit_actions.all_actions() if a.category == "access"}
    assert {int(r["N° d'événement"]) for r in registers["acces-images"]} == {
        seq for seq, row in by_seq.items() if row["action"] in access_codes
    }
    assert built.seq in {int(r["N° d'événement"]) for r in registers["acces-images"]}
    assert sorted(
        (r["Caméra"], r["Référence"], r["Placé le"], r["Images du"], r["Images jusqu'au"])
        for r in registers["gels"]
    ) == sorted(
        (
            h.camera.code,
            requisition.reference,
            local(h.created_at),
            local(h.starts_at),
            local(h.ends_at),
        )
        for h in holds
    )
    export = Export.objects.get(requisition=requisition, state=Export.State.READY)
    [extraction] = registers["extractions"]
    assert extraction["Réquisition"] == requisition.reference
    assert extraction["SHA-256 du paquet"] == export.package_sha256
    assert extraction["Libérée le"] == local(export.released_at)
    assert extraction["Libérée par"] == export.released_by.get_username()
    link = DownloadLink.objects.get(export=export, used_at__isnull=False)
    [handover] = registers["remises"]
    assert handover["Réquisition"] == requisition.reference
    assert handover["Remise le"] == local(link.used_at)
    assert handover["Destinataire"].startswith(requisition.officer.get_username())
    assert handover["SHA-256 du paquet"] == export.package_sha256


def dpo_records_a_breach(page, base_url: str, steps) -> Breach:
    """The DPO enters a breach from its menu (discovered this morning, Paris time) and records
    the decision not to notify the CNIL nor the people, with its reason (RGPD art. 33.5)."""
    with page.expect_navigation():
        page.get_by_role("link", name="Violations de données").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Enregistrer une violation").click()
    discovered = timezone.now().astimezone(PARIS).replace(second=0, microsecond=0)
    discovered -= timedelta(minutes=5)
    page.fill("#id_description", "Écran de la salle visible depuis le couloir public.")
    page.fill("#id_discovered_at", discovered.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_discovered_by", "Chef de salle de nuit")
    page.fill("#id_data_categories", "Images en direct")
    page.fill("#id_people_categories", "Passants filmés")
    page.fill("#id_consequences", "Vue fugitive d'images en direct par un tiers.")
    page.fill("#id_measures_taken", "Écran réorienté, film opacifiant posé.")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer").click()
    breach = Breach.objects.get()
    assert breach.discovered_at == discovered
    # 72 hours from the discovery, shown in Paris time.
    assert breach.deadline == discovered + timedelta(hours=72)
    assert f"due avant le {local(breach.deadline)}" in page.content(), page.content()
    steps("dpo-violation-enregistree", page)
    with page.expect_navigation():
        page.get_by_role("link", name="Décider de la notification").click()
    page.check("input[name=cnil_decision][value=not_notify]")
    page.fill("#id_cnil_reason", "Aucune image enregistrée exposée ; vue fugitive, sans risque.")
    page.check("input[name=people_decision][value=not_notify]")
    page.fill("#id_people_reason", "Pas de risque élevé pour les personnes.")
    with page.expect_navigation():
        page.get_by_role("button", name="Consigner la décision").click()
    steps("dpo-violation-decision", page)
    breach.refresh_from_db()
    assert breach.cnil_decision == Breach.Decision.NOT_NOTIFY
    return breach


def check_breach_register(location: Path, breach: Breach) -> None:
    """The pack's breach register holds the breach as entered, with its deadline and decision."""
    with zipfile.ZipFile(location) as archive:
        root = location.stem
        rows = _csv(archive, root, "registres/violations.csv")
        report = archive.read(f"{root}/{audit_pack_module.REPORT_NAME}")
    [row] = rows
    assert row["Référence"] == breach.reference
    assert row["Découverte le"] == local(breach.discovered_at)
    assert row["Nature"] == breach.description
    assert row["Notification due avant le"] == local(breach.deadline)
    assert row["Notification à la CNIL"].startswith("Non notifiée")
    assert breach.cnil_reason in row["Notification à la CNIL"]
    assert row["Mesures prises et envisagées"] == breach.measures_taken
    with pdfplumber.open(io.BytesIO(report)) as pdf:
        text = " ".join(" ".join(p.extract_text() or "" for p in pdf.pages).split())
    assert "Registre des violations de données" in text and breach.reference in text


def dpo_keeps_the_governance_documents(page, base_url: str, steps, tmp_path: Path) -> None:
    """The DPO publishes the record of processing activities (RGPD art. 30) and enters the
    impact assessment (RGPD art. 35) from the compliance pages."""
    page.goto(f"{base_url}/conformite/registre-des-traitements/")
    page.fill("#id_note", "Première version : état du système au contrôle.")
    with page.expect_navigation():
        page.get_by_role("button", name="Publier une nouvelle version").click()
    assert "Version 1 du registre des traitements publiée" in page.content()
    steps("dpo-registre-traitements", page)
    page.goto(f"{base_url}/conformite/analyse-impact/nouvelle/")
    aipd = tmp_path / "aipd-videoprotection.pdf"
    aipd.write_bytes(PDF)
    page.set_input_files("#id_file", str(aipd))
    page.fill("#id_assessed_on", timezone.localdate().isoformat())
    page.fill("#id_author", "Délégué à la protection des données")
    page.fill(
        "#id_summary", "Risques : visionnage hors finalité. Mesures : habilitations, masques."
    )
    page.locator("input[name=authorizations]").first.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer").click()
    steps("dpo-analyse-impact", page)


def check_governance_documents(location: Path) -> None:
    """The pack holds the published record of processing, the AIPD in force and the period's
    clock checks (issue: the CNIL's formal notices cite exactly these)."""
    with zipfile.ZipFile(location) as archive:
        root = location.stem
        names = [name.removeprefix(f"{root}/") for name in archive.namelist()]
        record = [n for n in names if n.startswith("registre-des-traitements")]
        assert record and all(n.endswith(".pdf") for n in record), names
        assert archive.read(f"{root}/{record[0]}").startswith(b"%PDF")
        assert archive.read(f"{root}/analyse-impact/v1-aipd-videoprotection.pdf") == PDF
        versions = _csv(archive, root, "registres/registre-traitements.csv")
        assert [row["Version"] for row in versions] == ["1"]
        clocks = _csv(archive, root, "registres/controles-horloge.csv")
    assert any(row["Horloge"] == "Serveur" for row in clocks), clocks


@pytest.fixture
def utc_process(monkeypatch):
    """The server's process in UTC: every time people see must still be Paris time."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


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


def operator_journey(browser, base_url: str, operator, camera, steps) -> Signalement:
    """The operator clocks in, checks the cameras' health and logs a signalement by keyboard."""
    page = sign_in_page(browser, base_url, operator)
    page.goto(f"{base_url}/exploitation/")
    steps("tableau-de-bord", page)
    with page.expect_navigation():
        page.get_by_role("button", name="Prendre mon service").click()
    assert "Prise de service enregistrée" in page.content()
    assert page.get_by_role("button", name="Fin de service").is_visible()
    steps("en-service", page)
    assert Shift.objects.filter(operator=operator, ended_at__isnull=True).count() == 1

    page.goto(f"{base_url}/cameras/sante/")
    row = page.locator("tr", has_text=camera.code)
    assert row.count() == 1
    assert camera.name in row.inner_text()
    steps("sante-cameras", page)

    page.goto(f"{base_url}/exploitation/signalements/nouveau/")
    assert page.evaluate("document.activeElement.id") == "id_category"
    keyboard = page.keyboard
    keyboard.type("Incendie")
    keyboard.press("Tab")
    keyboard.type("Place Saint-Léger")
    keyboard.press("Tab")
    keyboard.type("Fumée sortant d'une poubelle")
    keyboard.press("Tab")
    keyboard.type(camera.code)
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
    assert [c.code for c in signalement.cameras.all()] == [camera.code]
    return signalement


def test_operator_clocks_in_sees_camera_health_and_logs_a_signalement(
    live_server, chromium, operator, recorded_camera, steps
):
    operator_journey(chromium, live_server.url, operator, recorded_camera, steps)


def test_requisition_from_intake_to_verified_single_download(
    live_server,
    chromium,
    recorded_camera,
    operator,
    opj,
    magistrate,
    supervisor,
    dpo,
    eager_celery,
    steps,
    tmp_path,
    monkeypatch,
    utc_process,
):
    # The DPO's pack covers the days of the journey: an event just before them must stay out.
    first_day = timezone.localdate()
    period_start = datetime.combine(first_day, dt_time.min, PARIS)
    before = _recorded_at(monkeypatch, period_start - timedelta(seconds=1))

    # The operator logs the signalement the requisition follows.
    signalement = operator_journey(chromium, live_server.url, operator, recorded_camera, steps)

    segments = list(Segment.objects.filter(camera=recorded_camera).order_by("started_at"))
    start = segments[0].started_at.replace(microsecond=0) + timedelta(seconds=1)
    middle = segments[len(segments) // 2].started_at.replace(microsecond=0)
    end = segments[-1].ended_at.replace(microsecond=0)
    assert start < middle < end
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()) + 0.2)
    scan = tmp_path / "requisition-signee.pdf"
    scan.write_bytes(PDF)
    # A third period on the night of the autumn change (02:00-03:00 happens twice).
    night = (datetime(2025, 10, 25, 23, 40, tzinfo=UTC), datetime(2025, 10, 26, 1, 50, tzinfo=UTC))

    # The OPJ submits the requisition with its scan: the first form comes back with an error,
    # the scan is kept (he does not attach it again); then three periods, each frozen at once.
    officer = sign_in_page(chromium, live_server.url, opj)
    officer.goto(f"{live_server.url}/requisitions/nouvelle/")
    officer.fill("#id_procedure_number", "2026/004711")
    officer.select_option("#id_legal_frame", "60-1")
    officer.fill("#id_facts", "Vol à l'arraché rue de Boigne.")
    officer.set_input_files("#id_attachment", str(scan))
    with officer.expect_navigation():
        officer.get_by_role("button", name="Déposer").click()
    assert "Réquisition numérisée conservée : requisition-signee.pdf" in officer.content()
    officer.fill("#id_justification", "Identifier l'auteur et sa direction de fuite.")
    periods = [(start, middle), (middle, end), night]
    for index, (begin, finish) in enumerate(periods):
        officer.select_option(f"#id_w-{index}-camera", recorded_camera.code)
        # Paris time as typed; on the repeated autumn hour, with its offset.
        officer.fill(f"#id_w-{index}-starts_at", paris_input(begin))
        officer.fill(f"#id_w-{index}-ends_at", paris_input(finish))
    steps("opj-formulaire", officer)
    with officer.expect_navigation():
        officer.get_by_role("button", name="Déposer").click()
    steps("opj-deposee", officer)
    assert "les images disponibles sont gelées" in officer.content(), officer.content()
    # Every window is held as camera × period, the night one too (nothing indexed there, which
    # the page says beside it): only footage already destroyed cannot be held.
    assert officer.locator("td .ok", has_text="gelées").count() == 3
    requisition = Requisition.objects.get()
    assert requisition.attachment_name == "requisition-signee.pdf"
    assert Hold.objects.filter(reference_id=str(requisition.pk), released_at=None).count() == 3
    detail_url = f"{live_server.url}/requisitions/{requisition.pk}/"
    first, second, third = requisition.windows.order_by("pk")
    expected = [paris_text(m) for w in (first, second, third) for m in (w.starts_at, w.ends_at)]
    assert "(UTC+02:00)" in paris_text(datetime(2025, 10, 26, 0, 30, tzinfo=UTC))

    def window_times(page) -> list[str]:
        return [t.strip() for t in page.locator("#windows td.t").all_inner_texts()]

    # The magistrate opens the file: it is not "under review" for that; the checkboxes read
    # as the table above them.
    judge = sign_in_page(chromium, live_server.url, magistrate)
    judge.goto(detail_url)
    requisition.refresh_from_db()
    assert requisition.status == Status.SUBMITTED
    assert window_times(judge) == expected
    labels = [t.strip() for t in judge.locator(".window-label").all_inner_texts()]
    assert labels == [
        f"{recorded_camera.code} {expected[0]} – {expected[1]}",
        f"{recorded_camera.code} {expected[2]} – {expected[3]}",
        f"{recorded_camera.code} {expected[4]} – {expected[5]}",
    ]
    # A decision without the reason for the refused periods: an error on the form, the choice
    # kept, nothing in the history.
    history = AuditEvent.objects.filter(target_id=str(requisition.pk)).count()
    judge.check("input[name=outcome][value=approve_part]")
    judge.check(f"input[name=windows][value='{first.pk}']")
    with judge.expect_navigation():
        judge.get_by_role("button", name="Enregistrer la décision").click()
    assert "Motivez le refus des périodes non cochées." in judge.content()
    assert judge.is_checked("input[name=outcome][value=approve_part]")
    assert judge.is_checked(f"input[name=windows][value='{first.pk}']")
    assert not judge.is_checked(f"input[name=windows][value='{second.pk}']")
    assert AuditEvent.objects.filter(target_id=str(requisition.pk)).count() == history
    steps("magistrat-erreur-conservee", judge)
    reason = "Seule la première période concerne les faits."
    judge.fill("#id_reason", reason)
    steps("magistrat-decision", judge)
    with judge.expect_navigation():
        judge.get_by_role("button", name="Enregistrer la décision").click()
    assert "Décision enregistrée" in judge.content()
    steps("magistrat-decide", judge)
    requisition.refresh_from_db()
    assert requisition.status == Status.PARTLY_APPROVED
    for window, decision in ((first, "approved"), (second, "refused"), (third, "refused")):
        window.refresh_from_db()
        assert window.decision == decision
    assert "decision_refused" not in " ".join(
        AuditEvent.objects.filter(target_id=str(requisition.pk)).values_list("action", flat=True)
    )

    # The supervisor exports (in-process), checks the files, releases to the officer: no link
    # to copy, the page says until when the officer may download.
    chief = sign_in_page(chromium, live_server.url, supervisor)
    chief.goto(detail_url)
    assert window_times(chief) == expected
    with chief.expect_navigation():
        chief.select_option("#export-purpose", "atteintes_personnes_biens")
        chief.get_by_role("button", name="Préparer l'extraction").click()
    assert "Prête" in chief.content(), chief.content()
    assert chief.locator("td", has_text="clips/").count() == 1
    # He plays the prepared clip, as the officer will receive it, before releasing it.
    clip_url = chief.locator(".clips video").get_attribute("src")
    clip = chief.request.get(f"{live_server.url}{clip_url}")
    assert clip.status == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.body()[4:8] == b"ftyp"
    steps("chef-extraction-prete", chief)
    with chief.expect_navigation():
        chief.get_by_role("button", name=re.compile("Paquet vérifié")).click()
    steps("chef-libere", chief)
    assert "/telechargement/" not in chief.content()
    link = DownloadLink.objects.get(export__requisition=requisition)
    until = paris_text(link.expires_at)
    assert until in chief.locator("#allowed-download").inner_text()

    # The officer is told on his home page, then downloads from his own page. Opening (or
    # pre-fetching) any address burns nothing; the download is a POST; a second one is refused.
    officer.goto(f"{live_server.url}/accueil/")
    news = officer.locator("#requisition-news").inner_text()
    assert requisition.reference in news and "Téléchargement autorisé" in news
    officer.goto(detail_url)
    assert window_times(officer) == expected
    assert until in officer.locator("#download-until").inner_text()
    for url in (detail_url, f"{detail_url}telechargement/", f"{live_server.url}/accueil/"):
        officer.request.get(url)
    link.refresh_from_db()
    assert link.used_at is None
    with officer.expect_download() as download_info:
        officer.get_by_role("button", name="Télécharger l'extraction").click()
    package = tmp_path / "paquet.zip"
    download_info.value.save_as(package)
    officer.goto(detail_url)
    steps("opj-telecharge", officer)
    token = next(c["value"] for c in officer.context.cookies() if c["name"] == "csrftoken")
    again = officer.request.post(
        f"{detail_url}telechargement/", headers={"X-CSRFToken": token, "Referer": detail_url}
    )
    assert again.status == 400
    assert "déjà été téléchargée" in again.text()

    # The procès-verbal de remise, drawn up at the download, in Paris time like the pages.
    link.refresh_from_db()
    record_url = officer.get_by_role("link", name="procès-verbal de remise (PDF)").get_attribute(
        "href"
    )
    record = officer.request.get(f"{live_server.url}{record_url}")
    assert record.status == 200 and record.headers["content-type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(record.body())) as pdf:
        text = " ".join(" ".join(p.extract_text() or "" for p in pdf.pages).split())
    assert "Procès-verbal de remise" in text and paris_text(link.used_at) in text
    assert "Autorisée en partie" in text and reason in text
    for moment in expected:
        assert moment in text
    assert requisition.procedure_number in text

    # The downloaded package verifies offline, holds the approved period only.
    assert verifier.verify(package) == []
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        clips = [n for n in archive.namelist() if "/clips/" in n and not n.endswith("/")]
    assert len(clips) == 1
    assert file_stamp(first.starts_at) in clips[0]  # named in Paris time, with its offset
    requisition.refresh_from_db()
    assert requisition.status == Status.HANDED_OVER
    actions = set(
        AuditEvent.objects.filter(target_id=str(requisition.pk)).values_list("action", flat=True)
    )
    assert {
        "requisition.submitted",
        "requisition.partly_approved",
        "export.ready",
        "export.clip_viewed",
        "export.released",
        "export.downloaded",
        "export.download_refused",
    } <= actions, actions

    # The DPO downloads the audit pack of the journey's days and finds each action in it.
    last_day = timezone.localdate()
    period_end = datetime.combine(last_day + timedelta(days=1), dt_time.min, PARIS)
    after = _recorded_at(monkeypatch, period_end)  # the first instant after the period
    privacy = sign_in_page(chromium, live_server.url, dpo)
    breach = dpo_records_a_breach(privacy, live_server.url, steps)
    dpo_keeps_the_governance_documents(privacy, live_server.url, steps, tmp_path)
    server_clock_check()  # the beat's clock check, run once within the period
    with privacy.expect_navigation():
        privacy.get_by_role("link", name="Conformité").click()
    steps("dpo-conformite", privacy)
    privacy.goto(f"{live_server.url}/conformite/dossier-de-controle/")
    privacy.fill("#id_since", first_day.isoformat())
    privacy.fill("#id_until", last_day.isoformat())
    steps("dpo-periode", privacy)
    with privacy.expect_download() as pack_info:
        privacy.get_by_role("button", name="Produire le dossier").click()
    audit_pack = tmp_path / pack_info.value.suggested_filename
    pack_info.value.save_as(audit_pack)
    steps("dpo-dossier-telecharge", privacy)
    assert audit_pack.name == f"dossier-controle-{first_day:%Y%m%d}-{last_day:%Y%m%d}.zip"
    check_audit_pack(
        audit_pack,
        tmp_path / "dossier",
        start=period_start,
        end=period_end,
        outside={before.seq, after.seq},
        signalement=signalement,
        requisition=requisition,
        users=[operator, opj, magistrate, supervisor, dpo],
    )
    check_breach_register(audit_pack, breach)
    check_governance_documents(audit_pack)
