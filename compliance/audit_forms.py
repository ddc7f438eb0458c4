"""The audit trail's search form (the page and its CSV and PDF exports)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from audit import actions


def _action_choices():
    return [("", _("Toutes"))] + [(a.code, f"{a.label} ({a.code})") for a in actions.all_actions()]


class EventSearchForm(forms.Form):
    actor = forms.CharField(label=_("Personne"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False, choices=_action_choices)
    target = forms.CharField(label=_("Objet (caméra, compte…)"), required=False, max_length=300)
    reason = forms.CharField(label=_("Motif"), required=False, max_length=300)
    since = forms.DateTimeField(
        label=_("Depuis"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        label=_("Jusqu'à"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            self.add_error("until", _("La fin de la période précède son début."))
        return data
