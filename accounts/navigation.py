"""The navigation: each role sees only what it may use."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: frozenset[str]


ALL_ROLES = frozenset(Role.values)

#: Features add their entries here as they land; order is the menu's order.
ITEMS: list[NavItem] = [
    NavItem(_("Accueil"), "home", ALL_ROLES),
    NavItem(_("Utilisateurs"), "accounts:user_list", frozenset({Role.ADMIN, Role.DPO})),
    NavItem(_("Habilitations"), "accounts:habilitation_list", frozenset({Role.ADMIN, Role.DPO})),
    NavItem(_("Journal d'audit"), "audit:event_list", frozenset({Role.DPO})),
    NavItem(
        _("Caméras"),
        "cameras:camera_list",
        frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO}),
    ),
    NavItem(_("Mur d'images"), "live:wall", frozenset({Role.OPERATOR, Role.SUPERVISOR})),
    NavItem(
        _("Santé des caméras"),
        "cameras:health_board",
        frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN}),
    ),
    NavItem(
        _("Autorisations préfectorales"),
        "cameras:authorization_list",
        frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO}),
    ),
    NavItem(_("Relecture"), "recordings:replay_index", frozenset({Role.SUPERVISOR})),
    NavItem(
        _("Enregistreurs"),
        "recordings:operations",
        frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN}),
    ),
    NavItem(
        _("Tableau de bord"), "operations:dashboard", frozenset({Role.OPERATOR, Role.SUPERVISOR})
    ),
    NavItem(
        _("Signalements"),
        "operations:signalement_list",
        frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    ),
    NavItem(_("Vacations"), "operations:shift_list", frozenset({Role.OPERATOR, Role.SUPERVISOR})),
    NavItem(
        _("Statistiques"),
        "operations:statistics",
        frozenset({Role.SUPERVISOR, Role.ADMIN, Role.DPO}),
    ),
    NavItem(
        _("Registre des destructions"),
        "retention:destruction_list",
        frozenset({Role.SUPERVISOR, Role.DPO}),
    ),
    NavItem(_("Gels des images"), "retention:hold_list", frozenset({Role.SUPERVISOR, Role.DPO})),
    NavItem(
        _("Réquisitions"),
        "evidence:requisition_list",
        frozenset({Role.OPJ, Role.MAGISTRATE, Role.SUPERVISOR}),
    ),
    NavItem(
        _("Registres des extractions"),
        "evidence:registers",
        frozenset({Role.SUPERVISOR, Role.DPO}),
    ),
    NavItem(_("Conformité"), "compliance:index", frozenset({Role.DPO})),
    NavItem(
        _("Demandes d'accès"),
        "compliance:request_list",
        frozenset({Role.DPO, Role.SUPERVISOR}),
    ),
    NavItem(_("API"), "api-docs", ALL_ROLES),
]


def items_for(user) -> list[dict[str, str]]:
    if not user.is_authenticated or (user.requires_second_factor and not user.is_verified()):
        return []
    if user.must_change_password:  # nothing else opens until the password is replaced
        return []
    entries = []
    for item in ITEMS:
        if user.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # a feature not wired in this deployment
            continue
        entries.append({"label": str(item.label), "url": url})
    return entries
