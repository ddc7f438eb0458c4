"""The signalements' filters: one definition for the list page, its CSV and the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cameras.codes import resolve_code
from csu.lib.search import contains_words
from operations import selectors
from operations.forms import DATE, DATE_ERRORS
from operations.models import (
    Alarm,
    AlarmKind,
    AlarmPriority,
    AlarmState,
    AlertedService,
    Category,
    Outcome,
    Signalement,
)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


class _PeriodForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("La fin de la période précède son début."))
        return data


class SignalementFilter(filters.FilterSet):
    """q: a number (2026-000123) or words of the place or the description."""

    q = filters.CharFilter(label=_("Recherche"), method="search")
    category = filters.ChoiceFilter(
        label=_("Catégorie"), choices=Category.choices, empty_label=_("Toutes")
    )
    state = filters.ChoiceFilter(
        label=_("État"),
        choices=[("open", _("En cours")), ("closed", _("Clos"))],
        empty_label=_("Tous"),
        method="in_state",
    )
    outcome = filters.ChoiceFilter(
        label=_("Suite donnée"), choices=Outcome.choices, empty_label=_("Toutes")
    )
    service = filters.ChoiceFilter(
        label=_("Service alerté"),
        choices=AlertedService.choices,
        empty_label=_("Tous"),
        field_name="alerts__service",
        distinct=True,
    )
    camera = filters.CharFilter(label=_("Caméra"), max_length=40, method="filmed_by")
    start = filters.DateFilter(
        label=_("Du"), widget=DATE, error_messages=DATE_ERRORS, method="since"
    )
    end = filters.DateFilter(label=_("Au"), widget=DATE, error_messages=DATE_ERRORS, method="until")

    class Meta:
        model = Signalement
        fields: list[str] = []  # every filter is declared above
        form = _PeriodForm

    def search(self, signalements: QuerySet, name: str, value: str) -> QuerySet:
        key = selectors.parse_number(value)
        if key is not None:
            return signalements.filter(year=key[0], seq=key[1])
        aliases, condition = contains_words(value, "location", "description")
        return signalements.alias(**aliases).filter(condition)

    def in_state(self, signalements: QuerySet, name: str, value: str) -> QuerySet:
        return signalements.filter(closed_at__isnull=value == "open")

    def filmed_by(self, signalements: QuerySet, name: str, value: str) -> QuerySet:
        camera = resolve_code(value)
        if camera is None:
            return signalements.none()
        return signalements.filter(cameras=camera).distinct()

    def since(self, signalements: QuerySet, name: str, value: date) -> QuerySet:
        return signalements.filter(occurred_at__gte=_midnight(value))

    def until(self, signalements: QuerySet, name: str, value: date) -> QuerySet:
        return signalements.filter(occurred_at__lt=_midnight(value + timedelta(days=1)))


class AlarmFilter(filters.FilterSet):
    """The alarms by state, kind, priority, camera and the day they were raised."""

    state = filters.ChoiceFilter(label=_("État"), choices=AlarmState.choices, empty_label=_("Tous"))
    kind = filters.ChoiceFilter(
        label=_("Nature"), choices=AlarmKind.choices, empty_label=_("Toutes")
    )
    priority = filters.ChoiceFilter(
        label=_("Priorité"), choices=AlarmPriority.choices, empty_label=_("Toutes")
    )
    camera = filters.CharFilter(
        label=_("Caméra"), max_length=40, field_name="camera__code", lookup_expr="iexact"
    )
    start = filters.DateFilter(
        label=_("Levée du"), widget=DATE, error_messages=DATE_ERRORS, method="since"
    )
    end = filters.DateFilter(label=_("au"), widget=DATE, error_messages=DATE_ERRORS, method="until")

    class Meta:
        model = Alarm
        fields: list[str] = []  # every filter is declared above
        form = _PeriodForm

    def since(self, alarms: QuerySet, name: str, value: date) -> QuerySet:
        return alarms.filter(first_seen_at__gte=_midnight(value))

    def until(self, alarms: QuerySet, name: str, value: date) -> QuerySet:
        return alarms.filter(first_seen_at__lt=_midnight(value + timedelta(days=1)))
