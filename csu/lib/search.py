"""Searching people's words: accents and case ignored, on PostgreSQL and on SQLite alike.

PostgreSQL has ``unaccent()`` once its extension exists (operations' migration 0005 creates
it); SQLite gets a function of the same name on every connection (:func:`install_unaccent`,
connected to ``connection_created`` by the project's app), so one query serves both.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import Func, Q, TextField

#: Letters that are not an accented letter plus a combining mark: NFKD leaves them alone.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o"})


def strip_accents(text: str) -> str:
    """``text`` without its accents (é → e, ç → c, œ → oe); the case is kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Unaccent(Func):
    """``unaccent(expression)``: the column's text without accents."""

    function = "UNACCENT"
    output_field = TextField()


def contains_words(value: str, *fields: str) -> tuple[dict[str, Any], Q]:
    """Annotations and a condition: any of ``fields`` contains ``value``, ignoring accents
    and case (``queryset.alias(**annotations).filter(condition)``)."""
    wanted = strip_accents(value.strip())
    aliases = {f"plain_{field.replace('__', '_')}": Unaccent(field) for field in fields}
    condition = Q()
    for alias in aliases:
        condition |= Q(**{f"{alias}__icontains": wanted})
    return aliases, condition


def _sqlite_unaccent(text: str | None) -> str | None:
    return None if text is None else strip_accents(text)


def install_unaccent(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: give SQLite the ``unaccent`` function PostgreSQL has."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("unaccent", 1, _sqlite_unaccent, deterministic=True)
