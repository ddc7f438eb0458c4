"""The closed registry of audit actions.

Each app registers the actions it records (in its ``AppConfig.ready``); recording an action that
is not registered is a programming error, so the trail never holds a free-text verb.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Action:
    code: str
    label: str | Promise
    #: what the DPO filters on: "access" (images or personal data seen), "change",
    #: "auth", "extraction", "handover", "destruction", "system".
    category: str


_REGISTRY: dict[str, Action] = {}


class UnknownAction(LookupError):
    pass


def register(code: str, label: str | Promise, category: str) -> Action:
    existing = _REGISTRY.get(code)
    action = Action(code, label, category)
    if existing and existing != action:
        raise ValueError(f"audit action {code!r} registered twice with different meanings")
    _REGISTRY[code] = action
    return action


def get(code: str) -> Action:
    try:
        return _REGISTRY[code]
    except KeyError:
        raise UnknownAction(f"audit action {code!r} is not registered") from None


def all_actions() -> list[Action]:
    return sorted(_REGISTRY.values(), key=lambda a: a.code)


def register_core_actions() -> None:
    register("audit.chain_signed", _("Signature de la tête de chaîne"), "system")
    register("audit.chain_verified", _("Vérification de la chaîne d'audit"), "system")
    register("audit.chain_broken", _("Chaîne d'audit rompue"), "system")
    register("audit.pruned", _("Événements d'audit élagués (durée de conservation)"), "system")
    register(
        "audit.anchors_step_back",
        _("Recul des ancres reconnu (journal restauré depuis une sauvegarde)"),
        "system",
    )
    register("audit.exported", _("Journal d'audit exporté"), "access")
    register(
        "audit.records_purged",
        _("Données de l'application purgées (durée de conservation)"),
        "destruction",
    )
