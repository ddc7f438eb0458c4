"""The audit trail exported for a court or an inspector: CSV (every hashed field) and PDF."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from audit import actions
from audit.chain import HASHED_FIELDS
from audit.models import AuditEvent, ChainCheckpoint
from audit.selectors import chain_state
from csu.lib.csvfile import csv_bytes
from csu.lib.times import paris_text

PDF_MAX_EVENTS = 5000
CSV_COLUMNS = (
    "seq",
    "occurred_at_utc",
    "occurred_at_europe_paris",
    "actor_id",
    "actor_name",
    "actor_role",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "action_label",
    "target_type",
    "target_id",
    "target_label",
    "reason",
    "recipient",
    "details",
    "prev_hash",
    "hash",
)


def _label(code: str) -> str:
    try:
        return str(actions.get(code).label)
    except actions.UnknownAction:
        return code


def csv_comment() -> str:
    """The first line of the audit CSV: how to undo the neutralisation and recompute a hash."""
    return _(
        "Journal d'audit CSU. Les cellules qui commençaient par = + - @, une tabulation, un "
        "retour chariot ou une apostrophe ont reçu une apostrophe (') en tête pour qu'aucun "
        "tableur ne les exécute : retirez cette première apostrophe de chaque cellule qui en "
        "porte une pour retrouver la valeur enregistrée. Empreinte d'un événement : SHA-256 de "
        "prev_hash, d'un saut de ligne, puis du JSON (clés triées, séparateurs , et : sans "
        "espace, UTF-8) des champs %(fields)s, où occurred_at est occurred_at_utc écrit "
        "AAAA-MM-JJTHH:MM:SS.ffffffZ, seq et actor_id des nombres, actor_id et ip null quand "
        "ils sont vides, details le JSON de la colonne details."
    ) % {"fields": ", ".join(HASHED_FIELDS)}


def events_csv(events: Iterable[AuditEvent] | Any) -> bytes:
    """UTF-8 (with BOM), semicolons; ``details`` as canonical JSON: each hash can be recomputed.

    The first line is a comment (``# ...``) saying how: cells a spreadsheet would run as a
    formula carry an apostrophe in front (``csu.lib.csvfile``), which is removed before hashing.
    """

    def rows() -> Iterator[list[Any]]:
        for e in events.order_by("seq").iterator(chunk_size=2000):
            yield [
                e.seq,
                e.occurred_at.astimezone(UTC).isoformat(),
                timezone.localtime(e.occurred_at).isoformat(),
                "" if e.actor_id is None else e.actor_id,
                e.actor_name,
                e.actor_role,
                e.ip or "",
                e.user_agent,
                e.request_id,
                e.action,
                _label(e.action),
                e.target_type,
                e.target_id,
                e.target_label,
                e.reason,
                e.recipient,
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                e.prev_hash,
                e.hash,
            ]

    with override("fr"):
        return csv_bytes(CSV_COLUMNS, rows(), comment=csv_comment())


def _local(moment: Any) -> str:
    return paris_text(moment)


def events_pdf(events: Any, *, filters: dict[str, Any], produced_by: str) -> bytes:
    """A paginated French PDF: the search, the chain's state, then each event with its hash."""
    with override("fr"):
        return _events_pdf(events, filters=filters, produced_by=produced_by)


def _events_pdf(events: Any, *, filters: dict[str, Any], produced_by: str) -> bytes:
    styles = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=styles["BodyText"], fontSize=6.5, leading=8)
    head = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold")
    title = _("Extrait du journal d'audit")
    produced = _local(timezone.now())
    state = chain_state()
    verification = state.last_verification
    checkpoint = ChainCheckpoint.objects.order_by("-signed_at").first()
    criteria = "; ".join(
        f"{name} = {_local(value) if hasattr(value, 'tzinfo') else value}"
        for name, value in filters.items()
    ) or _("aucun (tout le journal)")

    def p(text: Any, style: Any = None) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style or styles["BodyText"])

    story: list[Any] = [
        p(title, styles["Title"]),
        p(_("Produit le %(date)s par %(who)s.") % {"date": produced, "who": produced_by}),
        p(_("Critères de recherche : %(c)s.") % {"c": criteria}),
        p(
            _("Dernière vérification complète de la chaîne : %(date)s — %(state)s.")
            % {
                "date": _local(verification.finished_at),
                "state": _("chaîne intègre") if verification.ok else verification.message,
            }
            if verification
            else _("La chaîne n'a encore jamais été vérifiée.")
        ),
        *(p(_("Suspect : %(what)s") % {"what": what}) for what in state.suspicious),
        p(
            _("Dernière signature de la tête de chaîne : n° %(seq)s le %(date)s, clé %(fp)s.")
            % {
                "seq": checkpoint.seq,
                "date": _local(checkpoint.signed_at),
                "fp": checkpoint.key_fingerprint,
            }
            if checkpoint
            else _("La tête de chaîne n'a encore jamais été signée.")
        ),
        p(
            _(
                "Chaque événement porte l'empreinte SHA-256 de son contenu et de l'événement "
                "précédent : toute modification ou suppression est décelable "
                "(manage.py verify_audit)."
            )
        ),
        Spacer(1, 0.3 * cm),
    ]
    columns = [
        _("N°"),
        _("Date (Paris)"),
        _("Auteur"),
        _("Action"),
        _("Objet"),
        _("Motif"),
        _("Destinataire"),
        _("IP"),
        _("Empreinte"),
    ]
    rows = [[Paragraph(escape(c), head) for c in columns]]
    for e in events.order_by("seq"):
        rows.append(
            [
                p(e.seq, cell),
                p(_local(e.occurred_at), cell),
                p(f"{e.actor_name} {e.actor_role}".strip() or "—", cell),
                p(f"{_label(e.action)} ({e.action})", cell),
                p(e.target_label or "—", cell),
                p(e.reason or "—", cell),
                p(e.recipient or "—", cell),
                p(e.ip or "—", cell),
                p(e.hash, cell),
            ]
        )
    width = landscape(A4)[0] - 3 * cm
    shares = [0.05, 0.1, 0.12, 0.15, 0.13, 0.17, 0.08, 0.07, 0.13]
    table = Table(rows, colWidths=[width * s for s in shares], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f5")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#aab1bf")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    buffer = io.BytesIO()

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(
            1.5 * cm,
            1 * cm,
            _("%(title)s — produit le %(date)s — page %(page)s")
            % {"title": title, "date": produced, "page": doc.page},
        )
        canvas.restoreState()

    SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        title=title,
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.6 * cm,
    ).build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
