"""Words for the codes that people would otherwise read raw: roles, system actors, detail keys.

Each app registers the codes it owns (in its ``AppConfig.ready``): its roles and rights, the
names its tasks and commands sign the audit trail with, the keys of the details its audit
events carry, and the choices whose codes those details hold. Pages, CSV files and PDFs then
show ``droits : direct`` where the trail stores ``{"rights": ["live"]}``, "Chef de salle" for
``supervisor``, "système (exports)" for ``evidence.tasks``. Registered in French (lazy
gettext), shown in the language of the request.

Also registered as template filters (builtins): ``role_label``, ``actor_label``,
``detail_items``, ``plain_value``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from django import template
from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Label = str | Promise

_ROLES: dict[str, Label] = {}
_ACTORS: dict[str, Label] = {}
#: System actors named by a prefix and a variable part ("recorder cam-3").
_ACTOR_PREFIXES: dict[str, Label] = {}
_KEYS: dict[str, Label] = {}
_VALUES: dict[str, Label] = {}

EMPTY = "—"


def register_roles(choices: type[models.Choices]) -> None:
    for value, label in choices.choices:
        _ROLES[str(value)] = label


def register_actor(name: str, label: Label) -> None:
    """A part of the system that signs the trail under ``name``."""
    _ACTORS[name] = label


def register_actor_prefix(prefix: str, label: Label) -> None:
    """System actors named ``prefix`` followed by a space and a detail (a worker, a camera)."""
    _ACTOR_PREFIXES[prefix] = label


def register_keys(labels: Mapping[str, Label]) -> None:
    """Words for the keys of audit details and field histories."""
    _KEYS.update(labels)


def register_values(*choices: type[models.Choices]) -> None:
    """Codes that details hold as values (rights, categories, states), with their labels."""
    for group in choices:
        for value, label in group.choices:
            _VALUES.setdefault(str(value), label)


def register_value_labels(values: Mapping[str, Label]) -> None:
    """Codes stored without a choices class (a segment's clock source), with their words."""
    for value, label in values.items():
        _VALUES.setdefault(value, label)


def role_label(code: str) -> str:
    """The role's name ("Chef de salle"), or the stored text when no role has that code."""
    if not code:
        return ""
    return str(_ROLES.get(code, code))


def actor_label(name: str) -> str:
    """A system actor's words; a person's name is shown as stored."""
    if name in _ACTORS:
        return str(_ACTORS[name])
    head, _space, rest = name.partition(" ")
    if rest and head in _ACTOR_PREFIXES:
        return f"{_ACTOR_PREFIXES[head]} {rest}"
    return name


def actors() -> dict[str, Label]:
    return dict(_ACTORS)


#: Keys that many events carry, whatever the app.
_KEYS.update(
    {
        "count": _("nombre"),
        "start": _("début"),
        "end": _("fin"),
        "since": _("depuis"),
        "from": _("de"),
        "to": _("à"),
        "reason": _("motif"),
        "error": _("erreur"),
        "problem": _("problème"),
        "changes": _("modifications"),
        "change": _("modification"),
        "fields": _("champs"),
        "filters": _("filtres"),
        "format": _("format"),
        "rows": _("lignes"),
        "size": _("taille"),
        "bytes": _("octets"),
        "sha256": _("empreinte SHA-256"),
        "file_name": _("nom du fichier"),
        "files": _("fichiers"),
        "kind": _("type"),
        "name": _("nom"),
        "number": _("numéro"),
        "status": _("état"),
        "title": _("titre"),
        "note": _("note"),
        "version": _("version"),
        "deleted": _("supprimés"),
        "skipped": _("ignorés"),
        "entries": _("entrées"),
        "events": _("événements"),
        "seconds": _("secondes"),
        "days": _("jours"),
        "deadline": _("échéance"),
        "reference_type": _("type de référence"),
        "reference_id": _("référence"),
        "case_reference": _("référence du dossier"),
        "destruction_entries": _("entrées du registre des destructions"),
        "approved_windows": _("périodes accordées"),
        "built_at": _("produit le"),
        "built_by": _("produit par"),
        "chain_head_seq": _("numéro de tête de chaîne"),
        "checkpoint_signed_at": _("tête de chaîne signée le"),
        "clip": _("séquence"),
        "credentials": _("identifiants du flux"),
        "days_left": _("jours restants"),
        "devices": _("équipements"),
        "extracts": _("extraits"),
        "failures": _("échecs"),
        "fingerprint": _("empreinte de la clé"),
        "has_credentials": _("identifiants saisis"),
        "highest_anchored_seq": _("dernier numéro ancré"),
        "keks": _("clés de chiffrement de clés"),
        "keks_rewrapped": _("clés de chiffrement de clés rechiffrées"),
        "kept_below_horizon": _("conservés sous l'horizon"),
        "kept_percent": _("part conservée (%)"),
        "keys_rewrapped": _("clés rechiffrées"),
        "late": _("en retard"),
        "link": _("lien"),
        "mask_version": _("version du masque"),
        "masked": _("masquée"),
        "new_fingerprint": _("nouvelle empreinte de la clé"),
        "newest": _("plus récent"),
        "newest_anchor": _("ancre la plus récente"),
        "next_reminder_days": _("prochain rappel (jours)"),
        "objects": _("objets"),
        "odt_sha256": _("empreinte SHA-256 du fichier ODT"),
        "oldest": _("plus ancien"),
        "opened": _("ouvert"),
        "other_keys_rewrapped": _("autres clés rechiffrées"),
        "overdue": _("en retard"),
        "package": _("paquet"),
        "pdf_sha256": _("empreinte SHA-256 du fichier PDF"),
        "procedure": _("procédure"),
        "refused_windows": _("périodes refusées"),
        "reminder": _("rappel"),
        "renewal": _("renouvellement"),
        "replaces": _("remplace"),
        "reset": _("réinitialisation"),
        "room_name": _("nom de la salle"),
        "second_factor": _("second facteur"),
        "segment": _("segment"),
        "segments": _("segments"),
        "sensors": _("capteurs"),
        "services": _("services alertés"),
        "session": _("session"),
        "sessions": _("sessions"),
        "shortened_windows": _("périodes raccourcies"),
        "stopped_since": _("arrêté depuis"),
        "threshold_days": _("seuil (jours)"),
        "tokens": _("jetons"),
        "verification_id": _("identifiant de vérification"),
        "windows": _("périodes"),
        "cause": _("cause"),
        "events_checked": _("événements vérifiés"),
        "export": _("extraction"),
        "first_broken_seq": _("premier numéro rompu"),
        "frames": _("images analysées"),
        "habilitation": _("habilitation"),
        "key": _("clé"),
        "service": _("service"),
        "signalement": _("signalement"),
    }
)


def _own_fields() -> Iterable[models.Field | models.ForeignObjectRel]:
    base = str(settings.BASE_DIR)
    for config in apps.get_app_configs():
        if config.path.startswith(base) and "site-packages" not in config.path:
            for model in config.get_models():
                yield from model._meta.get_fields()


@cache
def _field_names() -> dict[str, str]:
    """Field name → verbose name, over the project's own models (the first model wins)."""
    names: dict[str, str] = {}
    for field in _own_fields():
        verbose = getattr(field, "verbose_name", None)
        # Django makes "reference set at" of a field named without words: not words.
        if verbose and verbose != field.name.replace("_", " ") and field.name not in names:
            names[field.name] = verbose
    return names


@cache
def _choice_values() -> dict[str, Label]:
    """Code → label over every field with choices of the project's own models."""
    found: dict[str, Label] = {}
    for field in _own_fields():
        field = getattr(field, "base_field", field)  # an ArrayField's elements
        for value, label in getattr(field, "flatchoices", None) or ():
            # Numbers (a wall's size) are their own words, and never a count's.
            if value not in (None, "") and not isinstance(value, bool | int):
                found.setdefault(str(value), label)
    return found


def has_words(key: str) -> bool:
    """Whether ``key`` is registered or names a field that has words."""
    return key in _KEYS or key in _field_names()


def key_label(key: str) -> str:
    """A key's words: registered, else the verbose name of a model field of that name."""
    if key in _KEYS:
        return str(_KEYS[key])
    fields = _field_names()
    if key in fields:
        return str(fields[key])
    return key.replace("_", " ")


def _model_name(value: str) -> str | None:
    """The verbose name of a model named by its label ("evidence.requisition")."""
    if value.count(".") != 1 or not value.replace(".", "").replace("_", "").isalpha():
        return None
    try:
        return str(apps.get_model(value)._meta.verbose_name)
    except (LookupError, ValueError):
        return None


def plain_value(value: Any) -> str:
    """A stored value as words: codes through their labels, empty as a dash, yes/no."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return str(_("oui") if value else _("non"))
    if isinstance(value, Mapping):
        return " ; ".join(f"{key_label(str(k))} : {plain_value(v)}" for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, str):
        return ", ".join(plain_value(v) for v in value)
    if isinstance(value, float | Decimal):
        return number_format(value)  # "0,444" in French, "0.444" in English
    text = str(value)
    label = _VALUES.get(text) or _choice_values().get(text)
    if label is not None:
        return str(label)
    return _model_name(text) or text


def detail_items(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The details of an event as (words, value) pairs, in their stored order."""
    return [(key_label(str(k)), plain_value(v)) for k, v in (details or {}).items()]


register = template.Library()
register.filter("role_label", role_label)
register.filter("actor_label", actor_label)
register.filter("detail_items", detail_items)
register.filter("plain_value", plain_value)
