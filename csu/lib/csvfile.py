"""The French CSV that every export writes: UTF-8 with a BOM, semicolons, CRLF line ends, and no
cell that a spreadsheet would run as a formula.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a user name typed at
the sign-in page, a signalement's description, an imported label) is made inert by an apostrophe
put in front of it; a cell that already begins with an apostrophe gets one too, so that the rule
is reversible: remove the first character of every cell that begins with an apostrophe and the
original value is back (:func:`restore`). Plain numbers (``-3``, ``+2,5``) are not formulas and
are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

BOM = "\ufeff"
DELIMITER = ";"
LINE_END = "\r\n"
#: What a spreadsheet reads as the start of a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The inert prefix; cells already beginning with it are prefixed too, to stay reversible.
ESCAPE = "'"
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def neutralise(value: Any) -> str:
    """The cell's text, with an apostrophe in front when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text.startswith(ESCAPE):
        return ESCAPE + text
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return ESCAPE + text
    return text


def restore(cell: str) -> str:
    """The value before :func:`neutralise`: without its leading apostrophe, if it has one."""
    return cell[len(ESCAPE) :] if cell.startswith(ESCAPE) else cell


class _Line:
    """A file-like sink that hands back what the csv module writes (for streaming)."""

    def write(self, value: str) -> str:
        return value


class FrenchCsv:
    """Rows as French CSV text; every cell goes through :func:`neutralise`."""

    def __init__(self, stream: Any = None) -> None:
        self._writer = csv.writer(
            stream if stream is not None else _Line(), delimiter=DELIMITER, lineterminator=LINE_END
        )

    def row(self, cells: Iterable[Any]) -> str:
        """Write one row; returns its text when the writer streams (no ``stream`` given)."""
        return self._writer.writerow([neutralise(cell) for cell in cells])

    def comment(self, text: str) -> str:
        """A first line for people and tools: ``# text``, one cell, never a formula."""
        return self._writer.writerow([f"# {text}"])


def csv_bytes(
    header: Iterable[Any], rows: Iterable[Iterable[Any]], *, comment: str | None = None
) -> bytes:
    """The whole file in memory: BOM, optional comment line, header, rows."""
    buffer = io.StringIO()
    writer = FrenchCsv(buffer)
    if comment:
        writer.comment(comment)
    writer.row(str(cell) for cell in header)
    for cells in rows:
        writer.row(cells)
    return (BOM + buffer.getvalue()).encode("utf-8")


def csv_stream(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The same file, line by line, for a streaming response."""
    writer = FrenchCsv()
    yield BOM  # so that spreadsheet software reads UTF-8
    yield writer.row(str(cell) for cell in header)
    for cells in rows:
        yield writer.row(cells)
