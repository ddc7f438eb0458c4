"""Times for people: Europe/Paris, rendered by the server, with the offset where it is ambiguous.

Stored times are UTC. A page, a PDF, a CSV, a file name meant for people or an e-mail shows
them in Paris time; during the hour repeated on the night of the autumn change (02:00–03:00
twice) the same wall-clock time names two instants, so the offset is written there. Machine
fields (manifests, API) stay ISO-8601 UTC (``utc_iso``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload
from zoneinfo import ZoneInfo

from django import template

PARIS = ZoneInfo("Europe/Paris")


def paris(moment: datetime) -> datetime:
    """The same instant on Paris's clock (an aware datetime)."""
    return moment.astimezone(PARIS)


def ambiguous(moment: datetime) -> bool:
    """True when Paris's wall-clock time of ``moment`` names two instants (autumn change)."""
    local = paris(moment)
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=PARIS, fold=0).utcoffset()
    second = naive.replace(tzinfo=PARIS, fold=1).utcoffset()
    return first != second


def offset(moment: datetime) -> str:
    """The offset of Paris at ``moment``, as people read it: « UTC+02:00 »."""
    text = paris(moment).strftime("%z")
    return f"UTC{text[:3]}:{text[3:]}"


def paris_text(
    moment: datetime | None,
    *,
    seconds: bool = True,
    date: bool = True,
    always_offset: bool = False,
    empty: str = "—",
) -> str:
    """« 26/10/2025 02:30:00 (UTC+02:00) »: Paris time, the offset when it is ambiguous."""
    if moment is None:
        return empty
    local = paris(moment)
    pattern = ("%d/%m/%Y " if date else "") + ("%H:%M:%S" if seconds else "%H:%M")
    text = local.strftime(pattern)
    if always_offset or ambiguous(moment):
        text += f" ({offset(moment)})"
    return text


def file_stamp(moment: datetime) -> str:
    """Paris time with its offset, for a file name people read: « 20251026T023000+0200 »."""
    return paris(moment).strftime("%Y%m%dT%H%M%S%z")


@overload
def utc_iso(moment: datetime) -> str: ...
@overload
def utc_iso(moment: datetime | None) -> str | None: ...
def utc_iso(moment: datetime | None) -> str | None:
    """Machine field: ISO-8601 UTC with its ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- Template filters (built in for every template, see TEMPLATES in settings) ------------------

register = template.Library()


@register.filter(name="paris")
def paris_filter(moment: datetime | None, arg: str = "") -> str:
    """``{{ value|paris }}`` (seconds), ``{{ value|paris:"minutes" }}``, ``"time"`` (no date)."""
    if not isinstance(moment, datetime):
        # Empty stays empty so that ``|default:"—"`` applies, as after Django's ``|date``.
        return "" if moment in (None, "") else str(moment)
    options = {part.strip() for part in arg.split(",") if part.strip()}
    return paris_text(
        moment,
        seconds="minutes" not in options,
        date="time" not in options,
        always_offset="offset" in options,
    )
