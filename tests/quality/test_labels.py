"""Every code a person may read has French words, and English ones in the catalogue.

Choices (every ``TextChoices``/``IntegerChoices`` of our apps and every ``choices=`` of their
models' fields), audit actions, roles and the system actors that sign the trail: each label must
be a translatable text (lazy gettext) that is not the code itself, and the English catalogue must
hold it with an English text.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import trans_real

from accounts.roles import Role
from audit import actions
from csu.lib import labels

#: Our apps: the ones whose code lives in this repository.
BASE = Path(settings.BASE_DIR)
OUR_APPS = [
    c
    for c in apps.get_app_configs()
    if Path(c.path).is_relative_to(BASE) and "site-packages" not in Path(c.path).parts
]


def _english_catalogue() -> dict[str, str]:
    with translation.override("en"):
        catalogue = trans_real.translation("en")._catalog  # type: ignore[attr-defined]
    return {key: value for key, value in catalogue.items() if isinstance(key, str)}


def problem(code: object, label: object) -> str | None:
    """Why ``label`` does not give ``code`` French and English words, or None.

    A number needs no words. A code that is a French word ("incendie") may be its own label
    when English has its words ("Fire"); a label that copies a code in both languages, or
    carries its underscores, is the code shown raw.
    """
    if str(label).isdigit():
        return None
    if not isinstance(label, Promise):
        return f"{code!r}: label {label!r} is not translatable (gettext_lazy)"
    with translation.override("fr"):
        french = str(label)
    english = _english_catalogue().get(french, "")
    if not english:
        return f"{code!r}: {french!r} has no English text in locale/en"
    if "_" in french or (french == str(code) and english == french):
        return f"{code!r}: the label is the code"
    return None


def _choice_groups() -> list[type[models.Choices]]:
    found: list[type[models.Choices]] = []
    stack = list(models.Choices.__subclasses__())
    while stack:
        group = stack.pop()
        stack.extend(group.__subclasses__())
        module = group.__module__.split(".")[0]
        if any(module == config.name.split(".")[0] for config in OUR_APPS):
            found.append(group)
    return found


def _field_choices() -> list[tuple[str, object, object]]:
    rows = []
    for config in OUR_APPS:
        for model in config.get_models():
            for field in model._meta.get_fields():
                field = getattr(field, "base_field", field)
                for code, label in getattr(field, "flatchoices", None) or ():
                    if code not in (None, ""):
                        rows.append((f"{model._meta.label}.{field.name}", code, label))
    return rows


def test_every_choice_of_our_apps_has_french_and_english_words():
    groups = _choice_groups()
    assert Role in groups  # the walk finds our choices
    problems = [
        f"{group.__module__}.{group.__qualname__} {message}"
        for group in groups
        for code, label in group.choices
        if (message := problem(code, label))
    ]
    problems += [
        f"{where} {message}"
        for where, code, label in _field_choices()
        if (message := problem(code, label))
    ]
    assert not problems, "\n".join(problems)


def test_every_audit_action_has_french_and_english_words():
    problems = [m for a in actions.all_actions() if (m := problem(a.code, a.label))]
    assert len(actions.all_actions()) > 50
    assert not problems, "\n".join(problems)


def test_every_audit_category_has_french_and_english_words():
    used = {a.category for a in actions.all_actions()}
    assert used <= set(actions.CATEGORIES), used - set(actions.CATEGORIES)
    problems = [m for code, label in actions.CATEGORIES.items() if (m := problem(code, label))]
    assert not problems, "\n".join(problems)


def test_every_role_has_french_and_english_words():
    problems = [m for code, label in Role.choices if (m := problem(code, label))]
    assert not problems, "\n".join(problems)
    with translation.override("fr"):
        assert labels.role_label("supervisor") == "Chef de salle"
    with translation.override("en"):
        assert labels.role_label("supervisor") != "supervisor"


def _system_actor_names() -> set[str]:
    """Every name a part of the system signs the trail with, read from the code."""
    names: set[str] = set()
    for config in OUR_APPS:
        for path in Path(config.path).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {
                target.id: node.value.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                for target in node.targets
                if isinstance(target, ast.Name) and isinstance(node.value.value, str)
            }
            for node in ast.walk(tree):
                values: list[ast.expr] = []
                if isinstance(node, ast.Call):
                    callee = node.func
                    if isinstance(callee, ast.Name) and callee.id == "SystemActor" and node.args:
                        values.append(node.args[0])
                    values += [kw.value for kw in node.keywords if kw.arg == "actor_name"]
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        names.add(value.value)
                    elif isinstance(value, ast.Name) and value.id in constants:
                        names.add(constants[value.id])
                    elif isinstance(value, ast.JoinedStr) and value.values:
                        head = value.values[0]
                        if isinstance(head, ast.Constant):
                            names.add(str(head.value).rstrip() + " …")
    return names


def test_every_system_actor_has_french_and_english_words():
    names = _system_actor_names()
    assert "evidence.tasks" in names and "purge" in names  # the scan reads the code
    registered = labels.actors()
    problems = []
    for name in sorted(names):
        if name.endswith(" …"):
            prefix = name.removesuffix(" …")
            shown = labels.actor_label(f"{prefix} 7")
            if shown == f"{prefix} 7":
                problems.append(f"{name!r}: no words for this family of system actors")
            continue
        if name.startswith("manage.py "):
            continue  # a command, named as typed: "commande d'administration manage.py …"
        if name not in registered:
            problems.append(f"{name!r}: not registered (csu.lib.labels.register_actor)")
        elif message := problem(name, registered[name]):
            problems.append(message)
    assert not problems, "\n".join(problems)


def test_stored_values_read_as_words():
    with translation.override("fr"):
        assert labels.plain_value({"rights": ["live"], "count": 4}) == (
            "droits : Visionnage en direct ; nombre : 4"
        )
        assert labels.plain_value(None) == "—" and labels.plain_value(True) == "oui"
        assert labels.plain_value("evidence.requisition") == "réquisition judiciaire"
        assert labels.actor_label("evidence.tasks") == "système (exports)"
        assert labels.actor_label("recorder worker-2") == "enregistreur worker-2"
        assert labels.actor_label("Léa Martin") == "Léa Martin"
        # Measures as the health check stores them: a decimal comma in French.
        assert labels.plain_value({"motion": 0.444}) == "mouvement : 0,444"
    with translation.override("en"):
        assert labels.plain_value({"rights": ["live"]}) == "rights : Live viewing"
        assert labels.plain_value({"motion": 0.444}) == "motion : 0.444"
        assert labels.actor_label("evidence.tasks") == "system (exports)"


def _detail_keys() -> set[str]:
    """The keys our code writes in audit details (``details={...}`` literals)."""
    keys: set[str] = set()
    for config in OUR_APPS:
        for path in Path(config.path).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "details" and isinstance(keyword.value, ast.Dict):
                        keys |= {
                            k.value
                            for k in keyword.value.keys
                            if isinstance(k, ast.Constant) and isinstance(k.value, str)
                        }
    return keys


def test_every_key_of_audit_details_has_words():
    """Histories show details as "words : value": each key is registered or names a field."""
    keys = _detail_keys()
    assert {"rights", "reason", "windows"} & keys  # the scan reads the code
    raw = sorted(k for k in keys if not labels.has_words(k))
    assert not raw, "Audit detail keys without words (csu.lib.labels.register_keys):\n" + (
        "\n".join(raw)
    )
