"""The control room's load on a running CSU: operators polling, signalements, latency per group.

Run from the repository root against a product already running (``bin/run`` or gunicorn)::

    DATABASE_URL=postgres://... python bench/city_load.py --url http://127.0.0.1:8000 --seconds 60

Standalone, it creates in the database given by DATABASE_URL (the running product's) eight
operators ``bench.op1``..``bench.op8`` (training, habilitation for live, TOTP device) and takes
the demo accounts of ``bin/run``: the supervisor ``chef``, the ``dpo``, the OPJs ``opj`` and
``opj.gendarmerie`` and the ``magistrat`` (demo password under the data directory,
``CSU_DATA_DIR``). Every person signs in like a browser: the sign-in form with its CSRF token,
then the TOTP second factor, whose code is computed here from the device's key (RFC 6238, no
library) — each person has their own device, so no code is used twice.

A bounded thread pool then plays the room for ``--seconds``:

- each operator (and the supervisor) polls the dashboard page, each of its parts (what htmx
  polls) and two API lists (``/api/alarms/``, ``/api/operations/signalements/``) every 15 s,
  staggered; the DPO signs in only (the dashboard is not theirs);
- signalements are logged through the quick-entry form (CSRF token and the form's own defaults,
  like a browser) at the city's yearly rate, 7,840 a year, multiplied by ``--factor``, by the
  operators in turn;
- requisitions are submitted by the OPJs in turn (one hour of one camera, a small PDF scan
  attached, multipart like a browser) at 257 a year times ``--factor``; the magistrate
  authorizes each one as soon as it is submitted.

Not played yet (see bench/README.md): the supervisor's exports of one-hour windows and the
DPO's audit pack.

Latency is wall time of one request (client side, network included, redirects not followed) per
group: ``dashboard`` (the page), ``parts``, ``api``, ``forms`` (GET and POST of forms). A 5xx
answer is counted apart from the other errors (4xx, connection errors, a form that came back
with errors). ``run_load`` returns the figures; ``main`` prints them and the RESULT lines.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import queue
import re
import statistics
import struct
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent

POLL_SECONDS = 15.0
YEAR_SECONDS = 365 * 86400
SIGNALEMENTS_PER_YEAR = 7840
REQUISITIONS_PER_YEAR = 257
OPERATORS = 8
DASHBOARD = "/exploitation/"
PARTS = (
    "alarmes",
    "etat",
    "en-service",
    "sante",
    "cameras-en-defaut",
    "signalements",
    "requisitions",
    "enregistrement",
    "autorisations",
)
API = ("/api/alarms/", "/api/operations/signalements/")
GROUPS = ("dashboard", "parts", "api", "forms")
TIMEOUT = 30.0


# --- Second factor -----------------------------------------------------------------------------


def totp(key_hex: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The RFC 6238 code of a TOTP device's key (django_otp stores it as hex, t0 = 0)."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


# --- Forms, as a browser fills them --------------------------------------------------------------


class _FormParser(HTMLParser):
    """The fields of the first form whose action matches, with the values a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = defaultdict(list)
        self.options: dict[str, list[str]] = defaultdict(list)
        self._select: str | None = None
        self._selected: str | None = None
        self._first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name].append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields[name].append(a.get("value", ""))
        elif tag == "select" and name:
            self._select, self._selected, self._first = name, None, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self.options[self._select].append(value)
            if self._first is None:
                self._first = value
            if "selected" in a:
                self._selected = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name].append("")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            chosen = self._selected if self._selected is not None else self._first
            if chosen is not None:
                self.fields[self._select].append(chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    parser = _FormParser()
    parser.feed(html)
    return dict(parser.fields), dict(parser.options)


# --- Measuring -----------------------------------------------------------------------------------


@dataclass
class Recorder:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    other_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(
        self, session: requests.Session, group: str, method: str, url: str, **kwargs: Any
    ) -> requests.Response | None:
        began = time.perf_counter()
        try:
            response = session.request(
                method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            self.error(group, f"{method} {url}: {type(exc).__name__}", server=False)
            return None
        elapsed = (time.perf_counter() - began) * 1000
        with self.lock:
            self.times[group].append(elapsed)
        if response.status_code >= 500:
            self.error(group, f"{method} {url}: {response.status_code}", server=True)
        elif response.status_code >= 400:
            self.error(group, f"{method} {url}: {response.status_code}", server=False)
        return response

    def error(self, group: str, what: str, *, server: bool) -> None:
        with self.lock:
            (self.server_errors if server else self.other_errors)[group] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{group}: {what}")

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for group in GROUPS:
            values = sorted(self.times.get(group, []))
            entry: dict[str, Any] = {
                "count": len(values),
                "errors_5xx": self.server_errors.get(group, 0),
                "errors_other": self.other_errors.get(group, 0),
            }
            if values:
                entry["p50_ms"] = round(statistics.median(values), 1)
                entry["p95_ms"] = round(values[min(len(values) - 1, int(0.95 * len(values)))], 1)
                entry["max_ms"] = round(values[-1], 1)
            out[group] = entry
        out["errors_5xx"] = sum(self.server_errors.values())
        out["errors_other"] = sum(self.other_errors.values())
        out["examples"] = list(self.examples)
        return out


# --- The people ----------------------------------------------------------------------------------


def role_of(username: str) -> str:
    """Which part a person plays, from the demo names and the ones main() creates."""
    name = username.lower()
    for prefix, role in (
        ("bench.op", "operator"),
        ("operat", "operator"),
        ("opj", "opj"),
        ("magistrat", "magistrate"),
        ("chef", "supervisor"),
        ("dpo", "dpo"),
    ):
        if name.startswith(prefix):
            return role
    return "operator"


def sign_in(
    base: str, username: str, password: str, key_hex: str, rec: Recorder
) -> requests.Session | None:
    """A signed-in, second-factor-verified session, as a browser gets it."""
    session = requests.Session()
    page = rec.request(session, "forms", "GET", f"{base}/comptes/login/")
    if page is None or page.status_code != 200:
        return None
    fields, _ = form_fields(page.text)
    data = {k: v[0] for k, v in fields.items() if v}
    data.update(username=username, password=password)
    posted = rec.request(
        session, "forms", "POST", f"{base}/comptes/login/", data=data, headers={"Referer": page.url}
    )
    if posted is None or posted.status_code != 302:
        rec.error("forms", f"sign-in of {username} refused", server=False)
        return None
    otp_url = f"{base}/comptes/otp/"
    page = rec.request(session, "forms", "GET", otp_url)
    if page is None or page.status_code != 200:
        return None
    fields, _ = form_fields(page.text)
    data = {k: v[0] for k, v in fields.items() if v}
    data["token"] = totp(key_hex)
    posted = rec.request(session, "forms", "POST", otp_url, data=data, headers={"Referer": otp_url})
    if posted is None or posted.status_code != 302:
        rec.error("forms", f"second factor of {username} refused", server=False)
        return None
    return session


def log_signalement(base: str, session: requests.Session, rec: Recorder, n: int) -> bool:
    url = f"{base}/exploitation/signalements/nouveau/"
    page = rec.request(session, "forms", "GET", url)
    if page is None or page.status_code != 200:
        return False
    fields, options = form_fields(page.text)
    data: dict[str, Any] = {k: v[0] for k, v in fields.items() if v}
    categories = [value for value in options.get("category", []) if value and value != "autre"]
    data["category"] = categories[n % len(categories)] if categories else "other"
    data["location"] = f"Place de la gare, essai de charge {n}"
    data["description"] = "Attroupement signalé par la salle pendant l'essai de charge."
    data.pop("cameras", None)
    posted = rec.request(session, "forms", "POST", url, data=data, headers={"Referer": url})
    if posted is None:
        return False
    if posted.status_code != 302:
        rec.error("forms", f"signalement {n} not accepted ({posted.status_code})", server=False)
        return False
    return True


#: A scanned requisition as small as the store accepts (the type is checked on its first bytes).
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>"
    b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def submit_requisition(base: str, session: requests.Session, rec: Recorder, n: int) -> int | None:
    """An OPJ's requisition of one hour of one camera, scan attached; its number or None."""
    url = f"{base}/requisitions/nouvelle/"
    page = rec.request(session, "forms", "GET", url)
    if page is None or page.status_code != 200:
        return None
    fields, options = form_fields(page.text)
    data: dict[str, Any] = {k: v[0] for k, v in fields.items() if v}
    cameras = [value for value in options.get("w-0-camera", []) if value]
    if not cameras:
        rec.error("forms", "requisition form offers no camera", server=False)
        return None
    end = time.time() - 3600
    data.update(
        procedure_number=f"BENCH-{int(time.time())}-{n}",
        facts="Vol à l'arraché signalé place de la gare (essai de charge).",
        justification="Identifier l'auteur sur les images de la caméra la plus proche.",
        signalements="",
    )
    data["w-0-camera"] = cameras[n % len(cameras)]
    data["w-0-starts_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(end - 3600))
    data["w-0-ends_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(end))
    posted = rec.request(
        session,
        "forms",
        "POST",
        url,
        data=data,
        files={"attachment": ("requisition.pdf", SCAN, "application/pdf")},
        headers={"Referer": url},
    )
    if posted is None:
        return None
    found = re.search(r"/requisitions/(\d+)/", posted.headers.get("Location", ""))
    if posted.status_code != 302 or found is None:
        rec.error("forms", f"requisition {n} not accepted ({posted.status_code})", server=False)
        return None
    return int(found.group(1))


def decide_requisition(base: str, session: requests.Session, rec: Recorder, pk: int) -> bool:
    """The magistrate authorizes the whole requisition."""
    page_url = f"{base}/requisitions/{pk}/"
    url = f"{page_url}decision/"
    page = rec.request(session, "forms", "GET", page_url)  # the decision form is on it
    if page is None or page.status_code != 200:
        return False
    fields, _ = form_fields(page.text)
    data: dict[str, Any] = {"csrfmiddlewaretoken": fields.get("csrfmiddlewaretoken", [""])[0]}
    data.update(outcome="approve_all", reason="Autorisée (essai de charge).")
    posted = rec.request(session, "forms", "POST", url, data=data, headers={"Referer": page_url})
    if posted is None:
        return False
    if posted.status_code != 302:
        rec.error(
            "forms", f"decision on requisition {pk} refused ({posted.status_code})", server=False
        )
        return False
    return True


def poll(base: str, session: requests.Session, rec: Recorder) -> None:
    rec.request(session, "dashboard", "GET", f"{base}{DASHBOARD}")
    for part in PARTS:
        rec.request(
            session,
            "parts",
            "GET",
            f"{base}{DASHBOARD}tableau/{part}/",
            headers={"HX-Request": "true"},
        )
    for path in API:
        rec.request(session, "api", "GET", f"{base}{path}", headers={"Accept": "application/json"})


def run_load(
    base_url: str,
    people: dict[str, tuple[str, str]],
    seconds: float,
    factor: float,
    *,
    roles: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Play the room against ``base_url`` for ``seconds``.

    ``people`` maps each username to (password, TOTP key in hex as django_otp stores it);
    ``roles`` (optional) maps a username to operator, opj, magistrate, supervisor or dpo, else
    :func:`role_of` guesses from the name. Returns per group count, p50/p95/max (ms), 5xx and
    other errors, plus how many signalements were due and logged.
    """
    base = base_url.rstrip("/")
    rec = Recorder()
    roles = roles or {}
    sessions: dict[str, requests.Session] = {}
    for username, (password, key_hex) in people.items():
        session = sign_in(base, username, password, key_hex, rec)
        if session is not None:
            sessions[username] = session
    pollers = [u for u in sessions if (roles.get(u) or role_of(u)) in ("operator", "supervisor")]
    operators = [u for u in sessions if (roles.get(u) or role_of(u)) == "operator"]
    jobs: queue.Queue[int] = queue.Queue()
    interval = YEAR_SECONDS / (SIGNALEMENTS_PER_YEAR * factor) if factor > 0 else float("inf")
    due = int(seconds / interval) if interval != float("inf") else 0
    logged = 0
    logged_lock = threading.Lock()
    stop = threading.Event()
    began = time.monotonic()

    def schedule() -> None:
        for n in range(due):
            if stop.wait(max(0.0, began + (n + 0.5) * interval - time.monotonic())):
                return
            jobs.put(n + 1)

    def play(username: str, offset: float) -> None:
        nonlocal logged
        session = sessions[username]
        next_poll = began + offset
        is_operator = username in operators
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_poll:
                poll(base, session, rec)
                next_poll += POLL_SECONDS
            if is_operator:
                try:
                    n = jobs.get_nowait()
                except queue.Empty:
                    pass
                else:
                    if log_signalement(base, session, rec, n):
                        with logged_lock:
                            logged += 1
                    continue
            stop.wait(min(0.5, max(0.0, next_poll - time.monotonic())))

    opjs = [u for u in sessions if (roles.get(u) or role_of(u)) == "opj"]
    magistrates = [u for u in sessions if (roles.get(u) or role_of(u)) == "magistrate"]
    req_interval = YEAR_SECONDS / (REQUISITIONS_PER_YEAR * factor) if factor > 0 else float("inf")
    req_due = int(seconds / req_interval) if opjs and req_interval != float("inf") else 0
    to_decide: queue.Queue[int] = queue.Queue()
    counts = {"requisitions": 0, "decisions": 0}

    def requisitions() -> None:
        for n in range(req_due):
            if stop.wait(max(0.0, began + (n + 0.5) * req_interval - time.monotonic())):
                return
            pk = submit_requisition(base, sessions[opjs[n % len(opjs)]], rec, n + 1)
            if pk is not None:
                counts["requisitions"] += 1
                to_decide.put(pk)

    def decide() -> None:
        while not stop.is_set():
            try:
                pk = to_decide.get(timeout=0.5)
            except queue.Empty:
                continue
            if decide_requisition(base, sessions[magistrates[0]], rec, pk):
                counts["decisions"] += 1

    with ThreadPoolExecutor(max_workers=len(pollers) + 3) as pool:
        futures = [pool.submit(schedule), pool.submit(requisitions)]
        if magistrates:
            futures.append(pool.submit(decide))
        for i, username in enumerate(pollers):
            futures.append(pool.submit(play, username, POLL_SECONDS * i / max(1, len(pollers))))
        stop.wait(seconds)
        stop.set()
        for future in futures:
            future.result()
    # Signalements still queued when time ran out were due but not logged: they count as missed.
    result = rec.summary()
    result.update(
        seconds=seconds,
        factor=factor,
        people_signed_in=len(sessions),
        people_given=len(people),
        pollers=len(pollers),
        signalements_due=due,
        signalements_logged=logged,
        requisitions_due=req_due,
        requisitions_submitted=counts["requisitions"],
        requisitions_decided=counts["decisions"],
    )
    return result


# --- Standalone ----------------------------------------------------------------------------------


def standalone_people() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Eight operators created for the bench, plus the demo supervisor and DPO (bin/run)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import services
    from accounts.actors import SystemActor
    from accounts.demo import demo_password
    from accounts.models import Service, User
    from accounts.roles import Role

    actor = SystemActor("bench/city_load.py")
    password = demo_password()
    today = timezone.localdate()
    service = Service.objects.filter(kind=Service.Kind.CSU).first()
    people: dict[str, tuple[str, str]] = {}
    roles: dict[str, str] = {}
    for i in range(1, OPERATORS + 1):
        username = f"bench.op{i}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(
                username=username,
                password=password,
                role=Role.OPERATOR,
                first_name="Opérateur",
                last_name=f"Essai {i}",
                service=service,
                badge_number=f"BENCH-OP-{i}",
                actor=actor,
            )
            services.training_record(
                user=user,
                held_on=today - timedelta(days=60),
                title="Formation à la vidéoprotection (essai de charge)",
                actor=actor,
            )
            services.habilitation_create(
                user=user,
                decision_reference=f"ARR-BENCH-{today.year}-{i:03d}",
                issuer="Maire",
                valid_from=today - timedelta(days=30),
                valid_until=today + timedelta(days=335),
                all_cameras=True,
                actor=actor,
                can_live=True,
                can_replay=False,
                can_extract=False,
            )
        device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True
        )
        people[username] = (password, device.key)
        roles[username] = "operator"
    for username, role in (
        ("chef", "supervisor"),
        ("dpo", "dpo"),
        ("opj", "opj"),
        ("opj.gendarmerie", "opj"),
        ("magistrat", "magistrate"),
    ):
        device = TOTPDevice.objects.filter(user__username=username).first()
        if device is not None:
            people[username] = (password, device.key)
            roles[username] = role
    return people, roles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--factor",
        type=float,
        default=2000.0,
        help="yearly rates multiplied by this (default 2000: one signalement every 2 s)",
    )
    args = parser.parse_args()
    people, roles = standalone_people()
    result = run_load(args.url, people, args.seconds, args.factor, roles=roles)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for group in GROUPS:
        entry = result[group]
        if entry["count"]:
            print(
                f"{group}: {entry['count']} requests, p50 {entry['p50_ms']} ms, "
                f"p95 {entry['p95_ms']} ms, max {entry['max_ms']} ms, "
                f"5xx {entry['errors_5xx']}, other errors {entry['errors_other']}"
            )
    dashboard_p95 = max(result["dashboard"].get("p95_ms", 0.0), result["parts"].get("p95_ms", 0.0))
    print(f"RESULT city_load dashboard_p95_ms={dashboard_p95} target<=300")
    print(f"RESULT city_load api_p95_ms={result['api'].get('p95_ms', 0.0)} target<=300")
    print(f"RESULT city_load errors_5xx={result['errors_5xx']} target<=0")
    print(
        f"RESULT city_load requisitions_decided={result['requisitions_decided']} "
        f"target>={result['requisitions_due']}"
    )
    print(
        f"RESULT city_load signalements_logged={result['signalements_logged']} "
        f"target>={result['signalements_due']}"
    )


if __name__ == "__main__":
    main()
