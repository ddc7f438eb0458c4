"""PDF building blocks for the documents the centre hands out (registers, audit extracts, the
inspection pack, the annual report, the evidence preparation sheet and procès-verbal).

One set of styles, paragraphs whose text is escaped (a user's input is never read as markup),
tables that wrap their cells and repeat their header on every page, and one way to render a
document: its page layout, its metadata and the footer of every page (« titre — produit le … —
page n »). Production times are Paris time (``csu.lib.times``), whatever the server's zone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm, inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from csu.lib.times import paris_text

STYLES = getSampleStyleSheet()
#: A table cell and its header, small enough for nine columns on a landscape page.
CELL = ParagraphStyle("cell", parent=STYLES["BodyText"], fontSize=6.5, leading=8)
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")
#: The header row's background and the grid's lines.
HEADER_BACKGROUND = colors.HexColor("#eef0f5")
LINES = colors.HexColor("#aab1bf")
FOOTER_FONT = ("Helvetica", 7)


@dataclass(frozen=True)
class Layout:
    """A page size, its margins and the height of the footer's baseline."""

    pagesize: tuple[float, float]
    left: float
    right: float
    top: float
    bottom: float
    footer_y: float = 1 * cm

    @property
    def width(self) -> float:
        """The width between the margins: what a table may take."""
        return self.pagesize[0] - self.left - self.right


#: Landscape A4 for the long tables (registers, audit extracts, the inspection pack).
WIDE = Layout(landscape(A4), left=1.5 * cm, right=1.5 * cm, top=1.5 * cm, bottom=1.6 * cm)
#: Portrait A4 with reportlab's usual top and bottom margins (the annual report).
REPORT = Layout(A4, left=2 * cm, right=2 * cm, top=inch, bottom=inch)


def para(text: Any, style: str | ParagraphStyle = "BodyText") -> Paragraph:
    """``text`` as written (escaped, its line breaks kept) in a style or a sample style's name."""
    chosen = STYLES[style] if isinstance(style, str) else style
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), chosen)


def header_row(columns: Sequence[Any], style: ParagraphStyle = HEAD) -> list[Paragraph]:
    """A table's header cells, escaped, wrapping between words only (never inside one)."""
    whole_words = ParagraphStyle(f"{style.name}-words", parent=style, splitLongWords=0)
    return [Paragraph(escape(str(column)), whole_words) for column in columns]


#: reportlab's default side padding of a table cell.
CELL_PADDING = 6


def word_width(cell: Any) -> float:
    """The width of the longest word of a header cell (a Paragraph or plain text)."""
    if isinstance(cell, Paragraph):
        text, font, size = cell.getPlainText(), cell.style.fontName, cell.style.fontSize
    else:
        text, font, size = str(cell), "Helvetica", 10
    return max((stringWidth(word, font, size) for word in text.split()), default=0.0)


def fit_header_words(
    header: Sequence[Any], widths: Sequence[float], padding: float = CELL_PADDING
) -> list[float]:
    """``widths`` changed so that each header word fits on one line of its column.

    A column too narrow for its longest header word is widened; what it takes comes from the
    columns with room to spare, in proportion to that room, so that the table keeps its width
    when it can.
    """
    needed = [word_width(cell) + 2 * padding + 1 for cell in header]
    result = [max(w, n) for w, n in zip(widths, needed, strict=True)]
    excess = sum(result) - sum(widths)
    slack = [w - n if w > n else 0.0 for w, n in zip(result, needed, strict=True)]
    spare = sum(slack)
    if excess > 0 and spare > 0:
        share = min(1.0, excess / spare)
        result = [w - s * share for w, s in zip(result, slack, strict=True)]
    return result


def grid_style(
    *,
    header: Any = HEADER_BACKGROUND,
    lines: Any = LINES,
    valign: str = "TOP",
    padding: float | None = None,
    extra: Sequence[tuple[Any, ...]] = (),
) -> TableStyle:
    """A grid with a shaded header row; ``padding`` narrows the cells' side padding."""
    commands: list[tuple[Any, ...]] = [
        *extra,
        ("BACKGROUND", (0, 0), (-1, 0), header),
        ("GRID", (0, 0), (-1, -1), 0.3, lines),
        ("VALIGN", (0, 0), (-1, -1), valign),
    ]
    if padding is not None:
        commands += [
            ("LEFTPADDING", (0, 0), (-1, -1), padding),
            ("RIGHTPADDING", (0, 0), (-1, -1), padding),
        ]
    return TableStyle(commands)


def grid_table(
    rows: Sequence[Sequence[Any]], widths: Sequence[float] | None, **style: Any
) -> Table:
    """``rows`` (the first is the header, repeated on every page) in a :func:`grid_style`.

    Columns are widened when needed so that no header word is split across lines.
    """
    if widths is not None and rows:
        padding = style.get("padding")
        widths = fit_header_words(rows[0], widths, CELL_PADDING if padding is None else padding)
    result = Table(rows, colWidths=widths, repeatRows=1)
    result.setStyle(grid_style(**style))
    return result


def table(
    columns: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    width: float,
    *,
    shares: Sequence[float] | None = None,
    empty: bool = True,
) -> Table:
    """A table of text that wraps long cells and repeats its header on every page.

    Columns share ``width`` equally unless ``shares`` gives each one's fraction; with no rows
    and ``empty`` set, one row says « Aucune entrée. ».
    """
    data: list[list[Any]] = [header_row(columns)]
    data += [[para(value, CELL) for value in row] for row in rows]
    if not rows and empty:
        data.append([Paragraph(escape(_("Aucune entrée.")), CELL)] + [""] * (len(columns) - 1))
    fractions = shares or [1 / len(columns)] * len(columns)
    return grid_table(data, [width * share for share in fractions])


def produced_now(*, seconds: bool = False) -> str:
    """This moment, Paris time, as a document states when it was produced."""
    return paris_text(timezone.now(), seconds=seconds)


def produced_footer(title: str, produced: str) -> str:
    """« titre — produit le 26/10/2025 14:05 », the footer of the centre's tables."""
    return _("%(title)s — produit le %(date)s") % {"title": title, "date": produced}


def document(
    story: list[Flowable],
    *,
    title: str,
    layout: Layout = WIDE,
    footer: str | None = None,
    subject: str | None = None,
    author: str | None = None,
) -> bytes:
    """Render ``story``; with ``footer``, every page ends with « footer — page n »."""
    buffer = io.BytesIO()

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(*FOOTER_FONT)
        canvas.drawString(layout.left, layout.footer_y, f"{footer} — page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=layout.pagesize,
        title=title,
        subject=subject,
        author=_("Centre de supervision urbain") if author is None else author,
        leftMargin=layout.left,
        rightMargin=layout.right,
        topMargin=layout.top,
        bottomMargin=layout.bottom,
    )
    if footer is None:
        doc.build(story)
    else:
        doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def table_document(
    title: str, intro: list[str], columns: Sequence[Any], rows: Sequence[Sequence[Any]]
) -> bytes:
    """A titled landscape table: the title, the lines of ``intro``, then the table."""
    story: list[Flowable] = [para(title, "Title")]
    story += [para(line) for line in intro]
    story += [Spacer(1, 0.3 * cm), table(columns, rows, WIDE.width)]
    return document(story, title=title, footer=produced_footer(title, produced_now()))
