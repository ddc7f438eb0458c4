"""The audit trail exported for a court or an inspector: CSV (every hashed field) and PDF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from reportlab.lib.units import cm
from reportlab.platypus import Spacer

from audit import actions
from audit.chain import HASHED_FIELDS
from audit.models import AuditEvent, ChainCheckpoint
from audit.selectors import chain_state
from csu.lib import pdf
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


def events_csv(events: QuerySet[AuditEvent]) -> bytes:
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
    title = _("Extrait du journal d'audit")
    produced = pdf.produced_now(seconds=True)
    state = chain_state()
    verification = state.last_verification
    checkpoint = ChainCheckpoint.objects.order_by("-signed_at").first()
    criteria = "; ".join(
        f"{name} = {_local(value) if hasattr(value, 'tzinfo') else value}"
        for name, value in filters.items()
    ) or _("aucun (tout le journal)")
    para = pdf.para
    story: list[Any] = [
        para(title, "Title"),
        para(_("Produit le %(date)s par %(who)s.") % {"date": produced, "who": produced_by}),
        para(_("Critères de recherche : %(c)s.") % {"c": criteria}),
        para(
            _("Dernière vérification complète de la chaîne : %(date)s — %(state)s.")
            % {
                "date": _local(verification.finished_at),
                "state": _("chaîne intègre") if verification.ok else verification.message,
            }
            if verification
            else _("La chaîne n'a encore jamais été vérifiée.")
        ),
        *(para(_("Suspect : %(what)s") % {"what": what}) for what in state.suspicious),
        para(
            _("Dernière signature de la tête de chaîne : n° %(seq)s le %(date)s, clé %(fp)s.")
            % {
                "seq": checkpoint.seq,
                "date": _local(checkpoint.signed_at),
                "fp": checkpoint.key_fingerprint,
            }
            if checkpoint
            else _("La tête de chaîne n'a encore jamais été signée.")
        ),
        para(
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
    rows = [
        [
            e.seq,
            _local(e.occurred_at),
            f"{e.actor_label} {e.role_label}".strip() or "—",
            e.action_label,
            e.target_label or "—",
            e.reason or "—",
            e.recipient or "—",
            e.ip or "—",
            e.hash,
        ]
        for e in events.order_by("seq")
    ]
    shares = [0.05, 0.1, 0.12, 0.15, 0.13, 0.17, 0.08, 0.07, 0.13]
    story.append(pdf.table(columns, rows, pdf.WIDE.width, shares=shares, empty=False))
    return pdf.document(story, title=title, footer=pdf.produced_footer(title, produced))
