"""The closed registry of audit actions.

Each app registers the actions it records (in its ``AppConfig.ready``); recording an action that
is not registered is a programming error, so the trail never holds a free-text verb.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from csu.lib import labels


@dataclass(frozen=True)
class Action:
    code: str
    label: str | Promise
    #: what the DPO filters on: "access" (images or personal data seen), "change",
    #: "auth", "extraction", "handover", "destruction", "system".
    category: str


_REGISTRY: dict[str, Action] = {}

#: The categories in words, in the order they are shown.
CATEGORIES: dict[str, str | Promise] = {
    "access": _("Consultations d'images et de données"),
    "auth": _("Connexions et déconnexions"),
    "extraction": _("Extractions"),
    "handover": _("Remises"),
    "destruction": _("Destructions"),
    "change": _("Modifications"),
    "system": _("Opérations du système"),
}


def category_label(category: str) -> str:
    return str(CATEGORIES.get(category, category))


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


def register_core_labels() -> None:
    """Words for the parts of the system that sign the trail on the audit's behalf."""
    labels.register_actor("celery:sign_chain_head", _("système (signature du journal)"))
    labels.register_actor("scheduler", _("système (signature du journal)"))
    labels.register_actor("celery:verify_chain", _("système (vérification du journal)"))
    labels.register_actor("verify_audit", _("système (vérification du journal)"))
    labels.register_actor("celery:purge_records", _("système (purge des données anciennes)"))
