"""Filters of the people and habilitation registers: one definition for the pages and the API."""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Commune,
    Habilitation,
    HabilitationQuerySet,
    HabilitationState,
    Service,
    User,
)
from accounts.roles import Role
from csu.lib.search import contains_words


class UserFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("Recherche"), max_length=150, method="search")
    role = filters.ChoiceFilter(label=_("Rôle"), choices=Role.choices, empty_label=_("Tous"))
    service = filters.ModelChoiceFilter(
        label=_("Service"), queryset=Service.objects.all(), empty_label=_("Tous")
    )
    active = filters.ChoiceFilter(
        label=_("État"),
        choices=[("1", _("Actifs")), ("0", _("Désactivés"))],
        empty_label=_("Tous"),
        field_name="is_active",
        method="in_activity",
    )

    class Meta:
        model = User
        fields: list[str] = []  # every filter is declared above

    def search(self, users: QuerySet, name: str, value: str) -> QuerySet:
        aliases, condition = contains_words(
            value, "username", "first_name", "last_name", "badge_number"
        )
        return users.alias(**aliases).filter(condition)

    def in_activity(self, users: QuerySet, name: str, value: str) -> QuerySet:
        return users.filter(is_active=value == "1")


class HabilitationFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("Recherche"), max_length=150, method="search")
    commune = filters.ModelChoiceFilter(
        label=_("Commune"), queryset=Commune.objects.all(), empty_label=_("Toutes")
    )
    state = filters.ChoiceFilter(
        label=_("État"),
        choices=HabilitationState.choices,
        empty_label=_("Toutes"),
        method="in_state",
    )

    class Meta:
        model = Habilitation
        fields: list[str] = []  # every filter is declared above

    def search(self, habilitations: QuerySet, name: str, value: str) -> QuerySet:
        aliases, condition = contains_words(
            value, "decision_reference", "issuer", "user__username", "user__last_name"
        )
        return habilitations.alias(**aliases).filter(condition)

    def in_state(
        self, habilitations: HabilitationQuerySet, name: str, value: str
    ) -> HabilitationQuerySet:
        """On today's date in Europe/Paris ("valid" includes those expiring soon)."""
        return habilitations.in_state(value, timezone.localdate())
