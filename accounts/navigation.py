"""The navigation: each role sees only what it may use.

The menu is a registry: each app registers its entries (in its ``AppConfig.ready``) with the
role sets of its own ``roles.py``, the ones its views check, so the menu cannot offer a page
its view refuses. Entries appear in the order of their key, whichever app registered them,
grouped in the menu's sections (the room, video, cameras, requisitions, compliance,
administration): a section shows only when the role has an entry in it. An entry's section
follows from its position unless it is named when registering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.roles import ALL_ROLES


@dataclass(frozen=True)
class Section:
    key: str
    label: str | Promise


#: The menu's sections, in the menu's order. Home and the API documentation stand outside
#: them (section ``""``), the first at the top and the second at the bottom of the menu.
SECTIONS = (
    Section("room", _("Salle")),
    Section("video", _("Vidéo")),
    Section("cameras", _("Caméras")),
    Section("requisitions", _("Réquisitions")),
    Section("compliance", _("Conformité")),
    Section("administration", _("Administration")),
)
_SECTION_RANKS = {section.key: rank for rank, section in enumerate(SECTIONS)}

#: The section of an entry that names none, by its position: (first position, section), each
#: range running to the next one's first position.
_POSITIONS = (
    (0, ""),
    (20, "administration"),
    (40, "compliance"),  # the audit trail
    (50, "cameras"),
    (60, "video"),  # the wall
    (70, "cameras"),  # health and authorizations
    (90, "video"),  # replay
    (100, "cameras"),  # recorders
    (105, "room"),
    (150, "compliance"),  # retention's registers
    (170, "requisitions"),
    (190, "compliance"),
    (1000, ""),
)


def section_of(order: int) -> str:
    """The section an entry at position ``order`` falls in when it names none."""
    found = ""
    for first, key in _POSITIONS:
        if order >= first:
            found = key
    return found


@dataclass(frozen=True)
class NavItem:
    #: Position in the menu: entries are shown by increasing order within their section.
    order: int
    label: str | Promise
    url_name: str
    roles: frozenset[str]
    #: Key of the item's section in SECTIONS, "" for the entries outside any.
    section: str = ""


_REGISTRY: dict[str, NavItem] = {}


def register(
    order: int,
    label: str | Promise,
    url_name: str,
    roles: Iterable[str],
    section: str | None = None,
) -> NavItem:
    """Add the menu entry for the page ``url_name``, shown to ``roles`` at position ``order``,
    in ``section`` (by default the one its position falls in).

    Registering the same entry again changes nothing; a page registered twice with another
    meaning, or two pages at one position, is a programming error.
    """
    section = section_of(order) if section is None else section
    if section and section not in _SECTION_RANKS:
        raise ValueError(f"menu entry {url_name!r} registered in no known section {section!r}")
    item = NavItem(order, label, url_name, frozenset(roles), section)
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


def _place(item: NavItem) -> tuple[int, int]:
    if item.section:
        return _SECTION_RANKS[item.section], item.order
    # Outside the sections: home before them, the API documentation after.
    return (-1 if item.order < 1000 else len(SECTIONS)), item.order


def all_items() -> list[NavItem]:
    """Every registered entry, in the menu's order: by section, then by position."""
    return sorted(_REGISTRY.values(), key=_place)


def _visible(user) -> bool:
    if not user.is_authenticated or (user.requires_second_factor and not user.is_verified()):
        return False
    return not user.must_change_password  # nothing else opens until the password is replaced


def items_for(user) -> list[dict[str, str]]:
    """The entries ``user`` sees, in the menu's order, each with its section's key."""
    if not _visible(user):
        return []
    entries = []
    for item in all_items():
        if user.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # a feature not wired in this deployment
            continue
        entries.append({"label": str(item.label), "url": url, "section": item.section})
    return entries


def sections_for(entries: list[dict[str, str]]) -> list[dict[str, object]]:
    """The menu's entries grouped in consecutive sections, only those that have entries; the
    groups outside any section have an empty label."""
    labels = {section.key: str(section.label) for section in SECTIONS}
    groups: list[dict[str, object]] = []
    for entry in entries:
        if not groups or groups[-1]["key"] != entry["section"]:
            key = entry["section"]
            groups.append({"key": key, "label": labels.get(key, ""), "items": []})
        items = groups[-1]["items"]
        assert isinstance(items, list)
        items.append(entry)
    return groups


@dataclass(frozen=True)
class Shortcut:
    #: The key pressed, as KeyboardEvent.key gives it ("n", "/").
    key: str
    label: str | Promise
    url_name: str
    roles: frozenset[str]


_SHORTCUTS: dict[str, Shortcut] = {}

#: Keys the pages keep for themselves (the alarm queue's acknowledgement and moves) or that
#: the base template binds (the help): no app registers them as a global shortcut.
RESERVED_KEYS = frozenset({"a", "j", "k", "?"})


def register_shortcut(
    key: str, label: str | Promise, url_name: str, roles: Iterable[str]
) -> Shortcut:
    """A key that opens the page ``url_name`` for ``roles``, shown beside the menu.

    The key "/" is the search: it goes to the page's own search field when it has one, and
    opens ``url_name``'s search otherwise.
    """
    shortcut = Shortcut(key, label, url_name, frozenset(roles))
    if len(key) != 1 or key in RESERVED_KEYS or key.isupper():
        raise ValueError(f"shortcut {key!r}: one lower-case key, none of {sorted(RESERVED_KEYS)}")
    if not shortcut.roles:
        raise ValueError(f"shortcut {key!r} registered for no role")
    for other in _SHORTCUTS.values():
        if other != shortcut and other.key == key and other.roles & shortcut.roles:
            raise ValueError(f"shortcut {key!r} registered twice for {sorted(other.roles)}")
    _SHORTCUTS[f"{key} {url_name}"] = shortcut
    return shortcut


def shortcuts_for(user) -> list[dict[str, str]]:
    """The shortcuts ``user`` may use, by key."""
    if not _visible(user):
        return []
    found = []
    for shortcut in sorted(_SHORTCUTS.values(), key=lambda s: s.key):
        if user.role not in shortcut.roles:
            continue
        try:
            url = reverse(shortcut.url_name)
        except NoReverseMatch:
            continue
        found.append({"key": shortcut.key, "label": str(shortcut.label), "url": url})
    return found


def register_core_entries() -> None:
    """The first and last entries, open to everyone signed in."""
    register(10, _("Accueil"), "home", ALL_ROLES)
    register(1000, _("API"), "api-docs", ALL_ROLES)
