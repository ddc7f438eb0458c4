"""The navigation: each role sees only what it may use.

The menu is a registry: each app registers its entries (in its ``AppConfig.ready``) with the
role sets of its own ``roles.py``, the ones its views check, so the menu cannot offer a page
its view refuses. Entries appear in the order of their key, whichever app registered them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.roles import ALL_ROLES


@dataclass(frozen=True)
class NavItem:
    #: Position in the menu: entries are shown by increasing order.
    order: int
    label: str | Promise
    url_name: str
    roles: frozenset[str]


_REGISTRY: dict[str, NavItem] = {}


def register(order: int, label: str | Promise, url_name: str, roles: Iterable[str]) -> NavItem:
    """Add the menu entry for the page ``url_name``, shown to ``roles`` at position ``order``.

    Registering the same entry again changes nothing; a page registered twice with another
    meaning, or two pages at one position, is a programming error.
    """
    item = NavItem(order, label, url_name, frozenset(roles))
    if not item.roles:
        raise ValueError(f"menu entry {url_name!r} registered for no role")
    existing = _REGISTRY.get(url_name)
    if existing is not None and existing != item:
        raise ValueError(f"menu entry {url_name!r} registered twice with different meanings")
    for other in _REGISTRY.values():
        if other.order == order and other.url_name != url_name:
            raise ValueError(
                f"menu entries {other.url_name!r} and {url_name!r} share the position {order}"
            )
    _REGISTRY[url_name] = item
    return item


def all_items() -> list[NavItem]:
    """Every registered entry, in the menu's order."""
    return sorted(_REGISTRY.values(), key=lambda item: item.order)


def items_for(user) -> list[dict[str, str]]:
    if not user.is_authenticated or (user.requires_second_factor and not user.is_verified()):
        return []
    if user.must_change_password:  # nothing else opens until the password is replaced
        return []
    entries = []
    for item in all_items():
        if user.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # a feature not wired in this deployment
            continue
        entries.append({"label": str(item.label), "url": url})
    return entries


def register_core_entries() -> None:
    """The first and last entries, open to everyone signed in."""
    register(10, _("Accueil"), "home", ALL_ROLES)
    register(1000, _("API"), "api-docs", ALL_ROLES)
