"""The audit trail's search: one definition for the DPO's page, its exports and the API.

The search itself is audit.selectors.search_events; this FilterSet validates the parameters
(the page shows the form's errors, the API answers 400 naming the parameter, same message) and
documents them in the API schema.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ChoiceField

from audit import actions
from audit.models import AuditEvent
from audit.selectors import filters_from, search_events

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"})


def _action_choices() -> list[tuple[str, str]]:
    """Each action by its words, in alphabetical order of the words (the code is the value)."""
    return sorted(((a.code, str(a.label)) for a in actions.all_actions()), key=lambda c: c[1])


def _families() -> set[str]:
    """The prefixes that name a group of actions: "camera" for every "camera.…"."""
    families: set[str] = set()
    for action in actions.all_actions():
        parts = action.code.split(".")
        families.update(".".join(parts[:n]) for n in range(1, len(parts)))
    return families


class ActionField(ChoiceField):
    """An action's code, as listed; or a family of actions ("camera"), as the API allows."""

    def valid_value(self, value: Any) -> bool:
        return super().valid_value(value) or str(value) in _families()


class ActionFilter(filters.ChoiceFilter):
    field_class = ActionField


class _PeriodForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            self.add_error("until", _("La fin de la période précède son début."))
        return data


class AuditEventFilter(filters.FilterSet):
    actor = filters.CharFilter(label=_("Personne"), max_length=150)
    action = ActionFilter(label=_("Action"), choices=_action_choices, empty_label=_("Toutes"))
    target = filters.CharFilter(label=_("Objet (caméra, compte…)"), max_length=300)
    reason = filters.CharFilter(label=_("Motif"), max_length=300)
    since = filters.DateTimeFilter(label=_("Depuis"), widget=DATETIME)
    until = filters.DateTimeFilter(label=_("Jusqu'à"), widget=DATETIME)

    class Meta:
        model = AuditEvent
        fields: list[str] = []  # every filter is declared above
        form = _PeriodForm

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return search_events(events=queryset, **self.searched())

    def searched(self) -> dict[str, Any]:
        """The search's arguments, as the exports record them (valid data only)."""
        return filters_from(self.form.cleaned_data)
