"""The centre's PDF tables (registers, the inspection pack, the annual report) never split a
header word across lines, and still fit between the page's margins."""

from __future__ import annotations

import io

import pdfplumber

from csu.lib import pdf

#: Long French words in narrow columns: what the registers' headers look like.
COLUMNS = [
    "Réquisition",
    "Procédure",
    "Cadre juridique",
    "Destinataire",
    "Identification",
    "Conservation (jours)",
    "Transmission à la Police nationale",
    "Responsabilités",
    "Justificatif d'identité",
    "Caractéristiques",
    "Empreinte",
    "Finalité",
]


def test_no_header_word_is_split_and_the_table_fits_the_page():
    rows = [[f"valeur {n}" for n in range(len(COLUMNS))]] * 3
    # Most columns far too narrow for their header's words; the last one has room to give.
    shares = [0.03] * (len(COLUMNS) - 1) + [1 - 0.03 * (len(COLUMNS) - 1)]
    table = pdf.table(COLUMNS, rows, pdf.WIDE.width, shares=shares)
    content = pdf.document([table], title="Registre d'essai")
    with pdfplumber.open(io.BytesIO(content)) as document:
        [page] = document.pages
        placed = page.extract_words()
    words = {w["text"] for w in placed}
    for column in COLUMNS:
        for word in column.split():
            assert word in words, (column, word)
    assert all(w["x1"] <= page.width - pdf.WIDE.right + 1 for w in placed)


def test_fitting_keeps_the_table_width_when_there_is_room():
    header = pdf.header_row(["N°", "Caractéristiques", "Observations diverses et variées"])
    widths = pdf.fit_header_words(header, [200.0, 20.0, 300.0])
    assert sum(widths) == 520.0
    assert widths[1] >= pdf.word_width(header[1]) + 2 * pdf.CELL_PADDING
    assert widths[0] < 200.0 and widths[2] < 300.0  # both gave room, each in proportion
