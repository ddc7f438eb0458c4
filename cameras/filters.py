"""The register's filters: one definition for the list pages and the API.

A value the page refuses (an unknown state, a malformed number) is refused by the API too, with
the same message: the page shows it beside the field, the API answers 400 naming the parameter.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.models import Commune
from cameras import selectors
from cameras.codes import resolve_code
from cameras.models import (
    EXPIRY_ALERT_DAYS,
    Authorization,
    Camera,
    CameraKind,
    CameraStatus,
    HealthStatus,
)
from csu.lib.search import contains_words

#: The first choice of every select of the register's filters.
ANY = "—"


def _sector_choices() -> list[tuple[str, str]]:
    return [(sector, sector) for sector in selectors.sectors()]


@extend_schema_field(OpenApiTypes.INT)
class IdentifierFilter(filters.NumberFilter):
    """A row's identifier: a whole number, or the page's and the API's message."""

    field_class = forms.IntegerField


class CameraFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("Recherche"), method="search")
    commune = filters.ModelChoiceFilter(
        label=_("Commune"), queryset=Commune.objects.all(), empty_label=ANY
    )
    sector = filters.ChoiceFilter(label=_("Secteur"), choices=_sector_choices, empty_label=ANY)
    kind = filters.ChoiceFilter(label=_("Type"), choices=CameraKind.choices, empty_label=ANY)
    status = filters.ChoiceFilter(label=_("Statut"), choices=CameraStatus.choices, empty_label=ANY)
    health_status = filters.ChoiceFilter(
        label=_("État"), choices=HealthStatus.choices, empty_label=ANY
    )
    flag = filters.ChoiceFilter(
        label=_("Alerte"),
        choices=[
            ("authorization", _("Sans autorisation en vigueur")),
            ("masks", _("Masques non validés")),
        ],
        empty_label=ANY,
        method="flagged",
    )
    # The cameras an authorization covers: its page links here, the API takes it as a parameter.
    authorization = IdentifierFilter(
        label=_("Autorisation"),
        field_name="authorization_id",
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "invalid": _("Indiquez le numéro (identifiant) de l'autorisation."),
            "min_value": _("Indiquez le numéro (identifiant) de l'autorisation."),
        },
    )

    class Meta:
        model = Camera
        fields: list[str] = []  # every filter is declared above

    def search(self, cameras: QuerySet, name: str, value: str) -> QuerySet:
        q = value.strip()
        aliases, condition = contains_words(q, "code", "name", "address")
        camera = resolve_code(q)
        if camera is not None:  # a code typed loosely (cam 2) finds its camera too
            condition |= Q(pk=camera.pk)
        return cameras.alias(**aliases).filter(condition)

    def flagged(self, cameras: QuerySet, name: str, value: str) -> QuerySet:
        """Needs the annotations of selectors.camera_list."""
        if value == "authorization":
            return cameras.filter(authorization_in_force=0)
        return cameras.filter(mask_validated_at__isnull=True)


class AuthorizationFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("Recherche"), method="search")
    state = filters.ChoiceFilter(
        label=_("Validité"),
        choices=[
            ("valid", _("En vigueur")),
            ("expiring", _("Expire dans moins de 180 jours")),
            ("expired", _("Expirée")),
        ],
        empty_label=ANY,
        method="in_state",
    )

    class Meta:
        model = Authorization
        fields: list[str] = []  # every filter is declared above

    def search(self, authorizations: QuerySet, name: str, value: str) -> QuerySet:
        aliases, condition = contains_words(value, "number", "perimeter", "purposes_details")
        return authorizations.alias(**aliases).filter(condition)

    def in_state(self, authorizations: QuerySet, name: str, value: str) -> QuerySet:
        today = timezone.localdate()
        if value == "valid":
            return authorizations.filter(issued_on__lte=today, expires_on__gte=today)
        if value == "expired":
            return authorizations.filter(expires_on__lt=today)
        return authorizations.filter(
            expires_on__gte=today, expires_on__lte=today + timedelta(days=EXPIRY_ALERT_DAYS[0])
        )
