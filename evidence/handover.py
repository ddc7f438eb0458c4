"""The procès-verbal de remise (PDF, in French): files and hashes, recipient, date, agent."""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from evidence.models import Export, LegalFrame, Status

if TYPE_CHECKING:
    from evidence.export import Clip

PARIS = ZoneInfo("Europe/Paris")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M:%S") if moment else "—"


def _who(user: Any) -> str:
    if user is None:
        return "—"
    name = user.get_full_name() or user.get_username()
    extra = [f"matricule {user.badge_number}"] if user.badge_number else []
    if user.service_id:
        extra.append(str(user.service))
    return escape(name + (f" ({', '.join(extra)})" if extra else ""))


def proces_verbal(
    *, export: Export, clips: list[Clip], prepared_at: datetime, fingerprint: str
) -> bytes:
    """The PDF's bytes. Standard fonts: French accents are in their encoding."""
    requisition = export.requisition
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=7, leading=9)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Procès-verbal de remise {export.package_name}",
        author="Centre de supervision urbain",
    )
    status = escape(str(Status(requisition.status).label)) if requisition.decided_at else "—"
    frame = escape(str(LegalFrame(requisition.legal_frame).label))
    magistrate = _who(requisition.decided_by)
    story: list[Any] = [
        Paragraph("Procès-verbal de remise d'images de vidéoprotection", styles["Title"]),
        Paragraph(f"Centre de supervision urbain — extraction {escape(export.package_name)}", body),
        Spacer(1, 4 * mm),
        Paragraph(
            f"<b>Réquisition</b> : {escape(requisition.reference)}, procédure n° "
            f"{escape(requisition.procedure_number)}, {frame}, "
            f"déposée le {_when(requisition.submitted_at)}.",
            body,
        ),
        Paragraph(f"<b>Officier requérant (destinataire)</b> : {_who(requisition.officer)}.", body),
        Paragraph(
            f"<b>Décision du magistrat</b> : {status} par {magistrate} "
            f"le {_when(requisition.decided_at)}."
            + (
                f" Motif : {escape(requisition.decision_reason)}"
                if requisition.decision_reason
                else ""
            ),
            body,
        ),
        Paragraph(
            f"<b>Agent ayant préparé l'extraction</b> : {_who(export.prepared_by)}, "
            f"le {_when(prepared_at)} (heure de Paris).",
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph("<b>Fichiers remis</b>", body),
    ]
    rows: list[list[Any]] = [["Fichier", "Caméra", "Première / dernière image (Paris)", "Octets"]]
    for clip in clips:
        camera = clip.window.camera
        rows.append(
            [
                Paragraph(escape(clip.path) + "<br/>SHA-256 : " + clip.sha256, small),
                Paragraph(escape(f"{camera.code} — {camera.name}, {camera.address}"), small),
                Paragraph(f"{_when(clip.first_at)}<br/>{_when(clip.last_at)}", small),
                Paragraph(f"{clip.size:,}".replace(",", " "), small),
            ]
        )
        if clip.mask:
            rows.append(
                [
                    Paragraph(
                        f"Masques de confidentialité (version {clip.mask['version']}) incrustés : "
                        "images ré-encodées en H.264.",
                        small,
                    ),
                    "",
                    "",
                    "",
                ]
            )
    table = Table(rows, colWidths=[78 * mm, 45 * mm, 42 * mm, 15 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("FONTSIZE", (0, 0), (-1, 0), 8),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 4 * mm),
        Paragraph(
            "Le fichier manifest.json liste l'empreinte SHA-256 de chaque fichier et de chaque "
            "segment d'enregistrement source ; il est signé (Ed25519, manifest.json.sig). "
            f"Empreinte SHA-256 de la clé publique de signature : <b>{fingerprint}</b>.",
            body,
        ),
        Paragraph(
            "La vérification se fait hors ligne avec le script verify.py joint "
            "(voir LISEZMOI.txt).",
            body,
        ),
        Spacer(1, 10 * mm),
        Table(
            [["L'agent du CSU", "Le destinataire"], ["\n\n\n", "\n\n\n"]],
            colWidths=[90 * mm, 90 * mm],
            style=TableStyle(
                [
                    ("BOX", (0, 1), (0, 1), 0.4, colors.grey),
                    ("BOX", (1, 1), (1, 1), 0.4, colors.grey),
                ]
            ),
        ),
    ]
    document.build(story)
    return out.getvalue()
