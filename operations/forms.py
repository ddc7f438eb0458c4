from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cameras.codes import split_codes
from cameras.purposes import Purpose
from csu.lib.forms import add_service_errors
from operations import rota
from operations.models import AlertedService, Category, Outcome
from operations.roles import ROOM_STAFF

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]
DATETIME_ERRORS = {"invalid": _("Date et heure invalides : écrivez JJ/MM/AAAA HH:MM.")}
DATE_ERRORS = {"invalid": _("Date invalide : écrivez JJ/MM/AAAA.")}


def _datetime_field(label: Any, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DATETIME,
        input_formats=DATETIME_FORMATS,
        error_messages=DATETIME_ERRORS,
    )


def _staff() -> Any:
    return User.objects.filter(is_active=True, role__in=ROOM_STAFF).order_by(
        "last_name", "first_name"
    )


class QuickSignalementForm(forms.Form):
    """The quick-entry form; its field order is the keyboard's tab order."""

    category = forms.ChoiceField(
        label=_("Catégorie"),
        choices=[("", "—"), *Category.choices],
        error_messages={"required": _("Choisissez une catégorie.")},
        widget=forms.Select(attrs={"autofocus": True}),
    )
    location = forms.CharField(
        label=_("Lieu"),
        max_length=300,
        error_messages={"required": _("Indiquez le lieu.")},
    )
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Décrivez les faits en quelques mots.")},
        help_text=_("Entrée enregistre ; Maj+Entrée pour aller à la ligne."),
    )
    cameras = forms.CharField(
        label=_("Caméras"),
        required=False,
        max_length=500,
        help_text=_("Codes séparés par des espaces ou des virgules."),
        widget=forms.TextInput(attrs={"list": "camera-codes", "autocomplete": "off"}),
    )
    services = forms.MultipleChoiceField(
        label=_("Services alertés maintenant"),
        choices=AlertedService.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    occurred_at = _datetime_field(_("Survenu le"))
    # Last in the tab order: only "Autre" needs it, the quick path stays as it was.
    purpose = forms.ChoiceField(
        label=_("Finalité (CSI L251-2)"),
        choices=[("", _("— celle de la catégorie —")), *Purpose.choices],
        required=False,
        help_text=_(
            "À choisir pour la catégorie « Autre » ; les autres catégories ont la leur. Les "
            "caméras doivent être autorisées pour cette finalité."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )

    def clean_cameras(self) -> list[str]:
        return split_codes(self.cleaned_data.get("cameras") or "")


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note de suivi"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("La note est vide.")},
    )


class ServiceAlertForm(forms.Form):
    service = forms.ChoiceField(label=_("Service"), choices=AlertedService.choices)
    alerted_at = _datetime_field(_("Alerté à"), required=False)
    arrived_at = _datetime_field(_("Arrivé à"), required=False)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Suite donnée"),
        choices=[("", "—"), *Outcome.choices],
        error_messages={"required": _("Choisissez la suite donnée au signalement.")},
    )


class RequisitionLinkForm(forms.Form):
    requisition = forms.CharField(
        label=_("Réquisition"),
        max_length=30,
        help_text=_("Sa référence, ex. REQ-2026-00012."),
        error_messages={"required": _("Indiquez la référence de la réquisition.")},
    )


class PeriodForm(forms.Form):
    """A period of whole days; at most ten years so that a report stays readable."""

    start = forms.DateField(
        label=_("Du"),
        widget=DATE,
        error_messages={**DATE_ERRORS, "required": _("Indiquez le début de la période.")},
    )
    end = forms.DateField(
        label=_("Au"),
        widget=DATE,
        error_messages={**DATE_ERRORS, "required": _("Indiquez la fin de la période.")},
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("La fin de la période précède son début."))
            elif end - start > timedelta(days=3660):
                self.add_error("end", _("La période dure au plus dix ans."))
        return data

    @staticmethod
    def default() -> dict[str, date]:
        today = timezone.localdate()
        return {"start": date(today.year, 1, 1), "end": today}


class ShiftCloseForm(forms.Form):
    ended_at = _datetime_field(_("Fin de service"))
    reason = forms.CharField(
        label=_("Motif"),
        max_length=500,
        error_messages={"required": _("Indiquez le motif de la clôture.")},
    )


class RotaSlotForm(forms.Form):
    operator = forms.ModelChoiceField(
        label=_("Opérateur"),
        queryset=User.objects.none(),
        error_messages={
            "required": _("Choisissez la personne."),
            "invalid_choice": _("Personne inconnue."),
        },
    )
    starts_at = _datetime_field(_("Début"))
    ends_at = _datetime_field(_("Fin"))
    note = forms.CharField(label=_("Remarque"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["operator"]).queryset = _staff()


class RotaGeneratorForm(forms.Form):
    """The six-days-in-seven rota: a period, the people, the day's shifts."""

    first = forms.DateField(
        label=_("Du"),
        widget=DATE,
        error_messages={**DATE_ERRORS, "required": _("Indiquez le premier jour.")},
    )
    last = forms.DateField(
        label=_("Au"),
        widget=DATE,
        error_messages={**DATE_ERRORS, "required": _("Indiquez le dernier jour.")},
    )
    operators = forms.ModelMultipleChoiceField(
        label=_("Personnes"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Réparties dans l'ordre de la liste : la 1re sur la 1re vacation, la 2e sur la 2e…"
        ),
        error_messages={
            "required": _("Choisissez les personnes à planifier."),
            "invalid_choice": _("Personne inconnue."),
            "invalid_pk_value": _("Personne inconnue."),
        },
    )
    pattern = forms.CharField(
        label=_("Vacations de la journée"),
        max_length=200,
        initial=rota.DEFAULT_PATTERN,
        help_text=_("Heures de début et de fin, ex. 6-14 14-22 22-6 (la nuit finit le lendemain)."),
        error_messages={"required": _("Indiquez les vacations de la journée.")},
    )
    note = forms.CharField(label=_("Remarque"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["operators"]).queryset = _staff()

    def clean_pattern(self) -> list[rota.ShiftHours]:
        return rota.parse_pattern(self.cleaned_data["pattern"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            data["plan"] = rota.plan(
                first=data["first"],
                last=data["last"],
                people=list(data["operators"]),
                shifts=data["pattern"],
            )
        except ValidationError as exc:
            add_service_errors(self, exc)
        return data
