"""The breach register's API (RGPD art. 33.5): list, record, read, decide. The DPO's alone."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import signed_in
from accounts.api_auth import role_permission
from audit.services import record
from compliance import breaches
from compliance.models import Breach
from compliance.roles import BREACH_KEEPERS
from csu.lib.drf import UTCDateTimeField


class BreachSerializer(serializers.ModelSerializer):
    # Machine fields: ISO-8601 in UTC, whatever the server's zone.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }
    reference = serializers.CharField(read_only=True)
    deadline = UTCDateTimeField(
        read_only=True, help_text=_("72 heures après la découverte (UTC, ISO-8601).")
    )
    decision_pending = serializers.BooleanField(read_only=True)

    class Meta:
        model = Breach
        fields = [
            "id",
            "reference",
            "state",
            "origin",
            "detector",
            *breaches.FIELDS,
            "deadline",
            "decision_pending",
            "cnil_decision",
            "cnil_reason",
            "cnil_notified_at",
            "cnil_reference",
            "people_decision",
            "people_reason",
            "people_notified_at",
            "decided_at",
            "created_at",
            "closed_at",
            "closing_note",
        ]
        read_only_fields = [
            f for f in fields if f not in breaches.FIELDS and f not in ("id", "reference")
        ]


class BreachDecisionSerializer(serializers.Serializer):
    cnil_decision = serializers.ChoiceField(choices=["notify", "not_notify"])
    cnil_reason = serializers.CharField()
    cnil_notified_at = UTCDateTimeField(required=False, allow_null=True)
    cnil_reference = serializers.CharField(required=False, allow_blank=True, default="")
    people_decision = serializers.ChoiceField(choices=["notify", "not_notify"])
    people_reason = serializers.CharField()
    people_notified_at = UTCDateTimeField(required=False, allow_null=True)


def _refusal(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    )


@extend_schema(tags=["breaches"])
class BreachViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Violations de données: the register the DPO keeps, notified or not."""

    serializer_class = BreachSerializer
    queryset = Breach.objects.order_by("-discovered_at", "-pk")

    def get_permissions(self) -> list[Any]:
        return [role_permission(*BREACH_KEEPERS)()]

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        breach = self.get_object()
        with transaction.atomic():
            record(
                "breach.viewed",
                actor=signed_in(request),
                target=breach,
                target_label=breach.reference,
            )
        return Response(self.get_serializer(breach).data)

    def perform_create(self, serializer: serializers.BaseSerializer[Breach]) -> None:
        data = {f: v for f, v in serializer.validated_data.items() if f in breaches.FIELDS}
        try:
            serializer.instance = breaches.breach_create(actor=signed_in(self.request), **data)
        except DjangoValidationError as exc:
            raise _refusal(exc) from None

    @extend_schema(request=BreachDecisionSerializer, responses=BreachSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        breach = self.get_object()
        body = BreachDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            breach = breaches.breach_decide(
                breach=breach, actor=signed_in(request), **body.validated_data
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise _refusal(exc) from None
            return Response({"detail": exc.messages}, status=status.HTTP_409_CONFLICT)
        return Response(BreachSerializer(breach).data)
