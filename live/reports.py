"""A signalement from a wall tile: the room's operations say which page and for whom.

Live sits below operations and must not import it. Operations registers, when it starts, the
page that logs a signalement and the roles that may open it; a tile offers the link to those
roles only (the Police nationale's station watches the wall but logs no signalement of the
city's room).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse

_target: tuple[str, frozenset[str]] | None = None


def register(url_name: str, roles: Iterable[str]) -> None:
    """``url_name`` logs a signalement (``?camera=<code>&at=<ms>`` filled in) for ``roles``."""
    global _target
    _target = (url_name, frozenset(roles))


def report_url(user: Any) -> str:
    """The page a tile's "report" link opens for ``user``; "" where they may log none."""
    if _target is None:
        return ""
    url_name, roles = _target
    if not user.has_role(*roles):
        return ""
    return reverse(url_name)
