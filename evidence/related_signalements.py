"""Signalements of the CSU a requisition concerns: the extension point operations fills.

Evidence sits below operations and must not import it. Operations registers its provider when
it starts; evidence asks it to check the numbers an officer gives at intake, to relate them to
the requisition in the intake's transaction, and to list them on the requisition's page.
("Link", in evidence, is the officer's download link only.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

from django.utils.translation import gettext as _


class SignalementProvider(Protocol):
    def check(self, numbers: list[str]) -> list[str]:
        """One precise message per number that names no signalement (empty: all exist)."""

    def attach(self, *, requisition: Any, numbers: list[str], actor: Any) -> None:
        """Relate the requisition to the signalements, audited, in the caller's transaction."""

    def shown(self, *, requisition: Any, user: Any) -> list[dict[str, str | None]]:
        """The related signalements as {"number", "url"} (url empty when ``user`` may not open)."""


_provider: SignalementProvider | None = None


def register(provider: SignalementProvider) -> None:
    global _provider
    _provider = provider


def parse(raw: str | Iterable[str] | None) -> list[str]:
    """Numbers written with spaces, commas or semicolons between them, without repeats."""
    if not raw:
        return []
    text = raw if isinstance(raw, str) else " ".join(str(item) for item in raw)
    return list(dict.fromkeys(n for n in re.split(r"[\s,;]+", text) if n))


def check(numbers: list[str]) -> list[str]:
    if not numbers:
        return []
    if _provider is None:
        return [
            _("Les signalements ne peuvent pas être liés : l'exploitation n'est pas installée.")
        ]
    return _provider.check(numbers)


def attach(*, requisition: Any, numbers: list[str], actor: Any) -> None:
    if numbers and _provider is not None:
        _provider.attach(requisition=requisition, numbers=numbers, actor=actor)


def shown(*, requisition: Any, user: Any) -> list[dict[str, str | None]]:
    return _provider.shown(requisition=requisition, user=user) if _provider else []
