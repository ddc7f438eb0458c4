"""No raw code on any page, CSV or PDF that a person reads, whichever role they hold.

A database is filled with a little of everything (events of every registered audit action,
camera history, signalements of every category, a requisition with its export and handover, a
destruction, an access request, a breach...). Then, for each role, a signed-in client walks the
product: every page the URL conf names without arguments, then every link those pages show
(object pages, filters, CSV and PDF downloads), as far as the site goes. New pages are walked
without being listed here. Each page's visible text (HTML without its tags, scripts and
attributes; CSV; PDF text through pdfplumber) must hold no audit action code, no role key, no
``rights: [...]`` list, no ``None``/``True``/``False``, no dotted module or actor name.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pdfplumber
import pytest
from django.apps import apps
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from reportlab.pdfgen import canvas

from accounts.roles import Role
from audit import actions
from audit.services import record
from cameras import health
from cameras import services as camera_services
from cameras.models import HealthStatus
from compliance import breaches, pack
from compliance import services as compliance_services
from evidence import services as evidence_services
from evidence.models import Export
from operations import services as operations_services
from operations.models import AlertedService, Category
from tests import matrix_coverage
from tests.cameras.factories import AuthorizationFactory, CameraFactory, PrivacyMaskFactory
from tests.compliance import factories as registers
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

#: Pages not walked: they sign out, change the language, or serve the API and its schema
#: (machine fields, in codes by contract), the Django admin, or a live stream.
SKIPPED_PREFIXES = ("/api/", "/static/", "/media/", "/admin/", "/i18n/", "/healthz")
#: The audit trail's CSV export holds the hashed fields as stored (codes included), so that
#: anyone can recompute each event's hash from it: a machine file by contract.
SKIPPED_VIEWS = matrix_coverage.EXEMPT | {"audit:event_export_csv"}
#: At most this many addresses of one view (object pages of many rows, filter variants), in
#: French; one in English, where the words differ but the pages are the same.
PER_VIEW = {"fr": 2, "en": 1}
#: People named so that no name looks like a code.
NAMES = {
    Role.OPERATOR: ("agent.martin", "Léa", "Martin"),
    Role.SUPERVISOR: ("chef.durand", "Paul", "Durand"),
    Role.OPJ: ("officier.bernard", "Marc", "Bernard"),
    Role.MAGISTRATE: ("procureure.petit", "Anne", "Petit"),
    Role.DPO: ("deleguee.roux", "Julie", "Roux"),
    Role.ADMIN: ("informaticien.morel", "Luc", "Morel"),
    Role.POLICE_STATION: ("poste.leroy", "Hugo", "Leroy"),
}


def _people() -> dict[str, object]:
    police = ServiceFactory(code="commissariat-chambery", name="Commissariat de Chambéry")
    people = {}
    for role, (username, first, last) in NAMES.items():
        person = UserFactory(
            username=username,
            first_name=first,
            last_name=last,
            role=role,
            service=police if role in (Role.OPJ, Role.POLICE_STATION) else None,
        )
        if role in (Role.OPERATOR, Role.SUPERVISOR, Role.POLICE_STATION):
            HabilitationFactory(
                user=person,
                all_cameras=True,
                can_live=True,
                can_replay=role == Role.SUPERVISOR,
                can_extract=role == Role.SUPERVISOR,
            )
        people[role] = person
    return people


def _world(people) -> None:
    """A little of everything each page lists, made through the services where they exist."""
    now = timezone.now()
    operator, supervisor = people[Role.OPERATOR], people[Role.SUPERVISOR]
    opj, magistrate, dpo = people[Role.OPJ], people[Role.MAGISTRATE], people[Role.DPO]
    today = timezone.localdate()
    expiring = AuthorizationFactory(
        number="73-2022-DSC-0007",
        issued_on=today - timedelta(days=1800),
        expires_on=today + timedelta(days=20),
    )
    main = CameraFactory(code="CAM-001", name="Place Saint-Léger", authorization=expiring)
    other = CameraFactory(code="CAM-002", name="Avenue de Lyon", police_relay=True)
    PrivacyMaskFactory(
        camera=main,
        author=supervisor,
        polygons=[{"mode": "software", "points": [[0, 0], [0.2, 0], [0.2, 0.2]]}],
    )
    camera_services.camera_update(
        camera=main,
        actor=supervisor,
        verify_source=False,
        sector="Hypercentre",
        infrared=True,
        kind="ptz",
    )
    camera_services.authorization_record_alert(authorization_id=expiring.pk)
    camera_services.camera_record_health(
        camera_id=other.pk,
        probe=health.Probe(
            HealthStatus.BLACK, {"brightness": 3.1, "contrast": 1.2, "sharpness": 4.0}
        ),
    )
    stopped = CameraFactory(code="CAM-003", name="Rue de Boigne", authorization=None)
    camera_services.recording_authorizations_sync(camera_ids=[stopped.pk])

    operations_services.shift_clock_in(operator=operator, at=now - timedelta(hours=3))
    for minutes, category in enumerate(Category.values, start=10):
        operations_services.signalement_create(
            actor=operator,
            category=category,
            purpose="batiments_publics" if category == Category.OTHER else "",
            occurred_at=now - timedelta(minutes=minutes),
            location="Place Saint-Léger",
            description="Faits constatés.",
            cameras=[main],
            services=[AlertedService.SAMU] if category == Category.ACCIDENT else [],
        )

    requisition = evidence_services.requisition_submit(
        procedure_number="2026/000123",
        legal_frame="60-1",
        facts="Vol à l'arraché.",
        justification="Identifier l'auteur.",
        attachment_name="requisition.pdf",
        attachment_data=_scanned_requisition(),
        windows=[
            evidence_services.WindowRequest(
                main.code, now - timedelta(hours=2), now - timedelta(hours=1)
            )
        ],
        actor=opj,
    )
    evidence_services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="Conforme.", actor=magistrate
    )
    at = now - timedelta(days=1)
    export = Export.objects.create(
        requisition=requisition,
        state=Export.State.READY,
        prepared_by=supervisor,
        finished_at=at,
        package_sha256="ab" * 32,
        files=[{"path": "clips/01.mp4"}],
    )
    registers.handover(export, at, supervisor)
    registers.destruction(other, at)

    start = now - timedelta(hours=2)
    compliance_services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X1234",
        description="Manteau rouge.",
        place="Place Saint-Léger",
        starts_at=start,
        ends_at=start + timedelta(minutes=5),
        cameras=[main],
        actor=dpo,
    )
    breaches.breach_create(
        actor=dpo,
        description="Clé USB perdue.",
        discovered_at=now - timedelta(hours=2),
        discovered_by="Chef de salle",
    )
    # One event of every registered action, by a person and by a part of the system.
    for action in actions.all_actions():
        record(action.code, actor=supervisor, target=main, details={"rights": ["live"]})
    record("camera.updated", actor="evidence.tasks", target=main)


def _scanned_requisition() -> bytes:
    """A real one-page PDF, as an officer scans it (the walk reads every PDF it may open)."""
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Réquisition judiciaire")
    page.save()
    return out.getvalue()


class _VisibleText(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def _codes_pattern() -> re.Pattern[str]:
    codes = sorted((a.code for a in actions.all_actions()), key=len, reverse=True)
    return re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, codes)) + r")(?![\w-])")


#: Any dotted lower-case name whose first part is one of our apps or an action's prefix (a
#: file's name, "requisition.pdf", is not one).
DOTTED = re.compile(r"(?<![\w/.@-])([a-z_]+)\.([a-z_]+)\b(?![\w/@-])")
FILE_EXTENSIONS = {"pdf", "csv", "zip", "mp4", "png", "jpg", "json", "txt", "sig", "py", "odt"}
ROLE_KEYS = re.compile(r"(?<![\w/.@-])(" + "|".join(Role.values) + r")(?![\w/.@-])")
#: In English, "operator" or "supervisor" are words: only the keys that are not are looked for.
ROLE_KEYS_EN = re.compile(
    r"(?<![\w/.@-])(" + "|".join(r for r in Role.values if "_" in r) + r")(?![\w/.@-])"
)
RAW_VALUES = re.compile(r"rights\s*:\s*\[|\b(None|True|False)\b|\b[a-z_]+=[\w.-]+")
#: In English, "None." is a word: only Python's way of writing it in a list is looked for.
RAW_VALUES_EN = re.compile(r"rights\s*:\s*\[|'None'|\b(True|False)\b|\b[a-z_]+=[\w.-]+")


def _prefixes() -> set[str]:
    ours = {
        config.label for config in apps.get_app_configs() if not config.name.startswith("django")
    }
    return ours | {a.code.split(".")[0] for a in actions.all_actions()}


def problems_in(text: str, language: str = "fr") -> list[str]:
    """The raw codes ``text`` shows, each with a little of its context."""
    found = []
    codes = _codes_pattern()
    prefixes = _prefixes()
    for pattern, keep in (
        (codes, lambda m: True),
        (DOTTED, lambda m: m.group(1) in prefixes and m.group(2) not in FILE_EXTENSIONS),
        (ROLE_KEYS if language == "fr" else ROLE_KEYS_EN, lambda m: True),
        (RAW_VALUES if language == "fr" else RAW_VALUES_EN, lambda m: True),
    ):
        for match in pattern.finditer(text):
            if keep(match):
                context = text[max(0, match.start() - 40) : match.end() + 40]
                found.append(f"{match.group(0)!r} in …{' '.join(context.split())}…")
    return found


def _text(response) -> tuple[str, list[str]]:
    kind = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if kind.startswith("application/pdf"):
        with pdfplumber.open(io.BytesIO(body)) as pdf:
            return "\n".join(page.extract_text() or "" for page in pdf.pages), []
    if kind.startswith("text/csv"):
        return body.decode("utf-8-sig"), []
    if kind.startswith("text/html"):
        parser = _VisibleText()
        parser.feed(body.decode())
        return " ".join(parser.parts), parser.links
    return "", []


def _start_pages() -> list[str]:
    """Every page of the URL conf that takes no argument."""
    urls = []
    for name in sorted(matrix_coverage.names() - SKIPPED_VIEWS):
        try:
            urls.append(reverse(name))
        except NoReverseMatch:
            continue  # needs an object: reached through the links of the lists
    return urls


def _view(url: str) -> str | None:
    """What makes an address a different page: its view, with the arguments that are words.

    A register's name ("extractions") or a document's format makes another document; an object's
    number or code (digits) makes another row of the same page.
    """
    parts = urlsplit(url)
    if parts.path.startswith(SKIPPED_PREFIXES):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.view_name in SKIPPED_VIEWS:
        return None
    words = [str(v) for v in match.kwargs.values() if not re.search(r"\d", str(v))]
    words += [v for k, v in parse_qsl(parts.query) if k == "format"]
    return " ".join([match.view_name, *words])


def _is_pdf(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path.endswith(".pdf") or ("format", "pdf") in parse_qsl(parts.query)


def walk(
    client: Client, language: str, pdfs: Counter[str] | None = None
) -> tuple[dict[str, list[str]], int]:
    """Every page reachable from the start pages: {url: problems}, and how many were read.

    ``pdfs`` counts the PDFs read per view across walks: a report is the same document
    whichever role downloads it, and the slowest to make.
    """
    queue = _start_pages()
    seen: set[str] = set(queue)
    per_view: Counter[str] = Counter()
    problems: dict[str, list[str]] = {}
    read = 0
    while queue:
        url = queue.pop(0)
        view = _view(url)
        if view is None:
            continue
        key = f"{view} pdf" if _is_pdf(url) else view
        counter = per_view if key == view or pdfs is None else pdfs
        if counter[key] >= PER_VIEW[language]:
            continue
        counter[key] += 1
        response = client.get(url)
        if response.status_code != 200:
            continue
        read += 1
        text, links = _text(response)
        found = problems_in(text, language)
        if found:
            problems[url] = found
        for link in links:
            parts = urlsplit(urljoin(url, link))  # "?format=csv" is the page's own CSV
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return problems, read


def test_the_checks_find_raw_codes():
    """The patterns catch what the walk looks for, and leave French text alone."""
    assert problems_in("Action : camera.snapshot_viewed")
    assert problems_in("Rôle : operator")
    assert problems_in("Role: police_station", "en")
    assert not problems_in("Role: room supervisor", "en")
    assert problems_in("droits : rights: ['live']")
    assert problems_in("Valeur : None")
    assert problems_in("Auteur : evidence.tasks")
    assert problems_in("Mesures : brightness=3.1 contrast=1.2")
    assert not problems_in(
        "Capture d'écran consultée par Léa Martin (opérateur), le 1 déc. 2026 — courriel "
        "mairie@ville.fr, site www.chambery.fr, art. L252-2 du CSI."
    )


def test_no_raw_code_on_any_page_for_any_role(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    people = _people()
    _world(people)
    report = []
    for language in ("fr", "en"):
        pdfs = Counter[str]()
        for role, person in people.items():
            client = sign_in(Client(), person)
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            problems, read = walk(client, language, pdfs)
            assert read >= 3, f"{role}: only {read} pages read"
            for url, found in problems.items():
                report.append(f"[{role}, {language}] {url}\n    " + "\n    ".join(found[:8]))
    assert not report, "Raw codes shown:\n" + "\n".join(report)


def test_no_raw_code_in_the_cnil_audit_pack(tmp_path, settings):
    """The pack's report and registers (PDF and CSV) read as the pages do; its audit journal
    (journal-audit.csv) keeps the stored values, from which each hash is recomputed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    people = _people()
    _world(people)
    now = timezone.now()
    _name, data = pack.build(
        start=now - timedelta(days=2), end=now + timedelta(minutes=1), actor=people[Role.DPO]
    )
    report = []
    read = Counter[str]()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith("/journal-audit.csv"):
                continue
            body = archive.read(name)
            if name.endswith(".pdf"):
                with pdfplumber.open(io.BytesIO(body)) as document:
                    text = "\n".join(page.extract_text() or "" for page in document.pages)
            elif name.endswith(".csv"):
                text = body.decode("utf-8-sig")
            else:
                continue
            read[name.rsplit(".", 1)[1]] += 1
            if found := problems_in(text):
                report.append(f"{name}\n    " + "\n    ".join(found[:8]))
    assert read["pdf"] >= 1 and read["csv"] >= 5, read
    assert not report, "Raw codes in the pack:\n" + "\n".join(report)
