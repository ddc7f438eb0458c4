"""French PDF documents for inspectors and courts: titled, dated, paginated tables."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

STYLES = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=STYLES["BodyText"], fontSize=6.5, leading=8)
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")


def para(text: Any, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), STYLES[style])


def table(columns: Sequence[Any], rows: Sequence[Sequence[Any]], width: float) -> Table:
    """A table that wraps long cells and repeats its header on every page."""
    data = [[Paragraph(escape(str(c)), HEAD) for c in columns]]
    data += [[Paragraph(escape(str(v)).replace("\n", "<br/>"), CELL) for v in row] for row in rows]
    if not rows:
        data.append([Paragraph(escape(_("Aucune entrée.")), CELL)] + [""] * (len(columns) - 1))
    result = Table(data, colWidths=[width / len(columns)] * len(columns), repeatRows=1)
    result.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f5")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#aab1bf")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return result


def document(title: str, story: list[Any], *, wide: bool = True, subject: str = "") -> bytes:
    """Render ``story`` with the title, the production time and "page n" on every page."""
    buffer = io.BytesIO()
    pagesize = landscape(A4) if wide else A4
    produced = date_format(timezone.localtime(), "d/m/Y H:i")

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

    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        title=title,
        subject=subject,
        author=_("Centre de supervision urbain"),
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.6 * cm,
    )
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def usable_width(wide: bool = True) -> float:
    pagesize = landscape(A4) if wide else A4
    return pagesize[0] - 3 * cm


def table_document(
    title: str, intro: list[str], columns: Sequence[Any], rows: Sequence[Sequence[Any]]
) -> bytes:
    story: list[Any] = [para(title, "Title")]
    story += [para(line) for line in intro]
    story += [Spacer(1, 0.3 * cm), table(columns, rows, usable_width())]
    return document(title, story)
