"""The operations endpoints: statistics, signalements, clocking in and out, alarms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView, ListCreateAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import signed_in
from accounts.api_auth import role_permission
from accounts.models import User
from cameras.models import Camera
from cameras.purposes import Purpose
from csu.lib.drf import UTCDateTimeField
from evidence import selectors as evidence_selectors
from evidence.models import Requisition
from evidence.roles import REQUISITION_READERS
from operations import selectors, services, stats
from operations.filters import AlarmFilter, SignalementFilter
from operations.forms import PeriodForm
from operations.models import (
    Alarm,
    AlarmKind,
    AlarmPriority,
    AlarmState,
    AlertedService,
    Category,
    Outcome,
    Shift,
    Signalement,
)
from operations.roles import (
    ALARM_HANDLERS,
    REQUISITION_LINKERS,
    ROOM_MANAGERS,
    ROOM_STAFF,
    STATISTICS_READERS,
)


def _error(exc: ValidationError) -> Response:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


def _when(moment: Any) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


# --- Serializers --------------------------------------------------------------------------------


class CameraCodes(serializers.ListField):
    """Camera codes in and out (the model holds the cameras themselves)."""

    child = serializers.CharField(max_length=40)

    def to_representation(self, data: Any) -> list[str]:
        return [camera.code for camera in data.all()]


class ServiceAlertSerializer(serializers.Serializer):
    service = serializers.CharField()
    service_label = serializers.CharField(source="get_service_display")
    alerted_at = serializers.DateTimeField()
    arrived_at = serializers.DateTimeField(allow_null=True)


class SignalementSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    category = serializers.ChoiceField(
        choices=Category.choices,
        error_messages={"invalid_choice": _("Catégorie inconnue : « {input} ».")},
    )
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    purpose = serializers.ChoiceField(
        choices=Purpose.choices,
        required=False,
        allow_blank=True,
        help_text=_(
            "La finalité de l'article L251-2 du CSI poursuivie : obligatoire pour la catégorie "
            "« autre », déduite de la catégorie sinon."
        ),
        error_messages={"invalid_choice": _("Finalité inconnue : « {input} ».")},
    )
    purpose_label = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text=_("Par défaut : maintenant."),
        error_messages={"invalid": _("Date et heure invalides : format ISO 8601 attendu.")},
    )
    cameras = CameraCodes(required=False, default=list)
    services = serializers.ListField(
        child=serializers.ChoiceField(
            choices=AlertedService.choices,
            error_messages={"invalid_choice": _("Service inconnu : « {input} ».")},
        ),
        required=False,
        default=list,
        write_only=True,
    )
    alerts = ServiceAlertSerializer(many=True, read_only=True)
    author: serializers.StringRelatedField[User] = serializers.StringRelatedField(read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    # Empty while the signalement is open: the schema must say so.
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Signalement
        fields = [
            "number",
            "category",
            "category_label",
            "purpose",
            "purpose_label",
            "occurred_at",
            "location",
            "cameras",
            "description",
            "services",
            "alerts",
            "outcome",
            "author",
            "created_at",
            "closed_at",
            "is_open",
        ]
        read_only_fields = ["outcome", "created_at", "closed_at"]


# --- Views --------------------------------------------------------------------------------------


class SignalementList(ListCreateAPIView):
    """Signalements, filtered by q, category, state, outcome, service, camera, start, end."""

    permission_classes = [role_permission(*ROOM_STAFF)]
    serializer_class = SignalementSerializer
    filterset_class = SignalementFilter

    def get_queryset(self):
        return selectors.signalement_list().prefetch_related("cameras", "alerts")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            signalement = services.signalement_create(
                actor=signed_in(request),
                category=data["category"],
                purpose=data.get("purpose", ""),
                occurred_at=data.get("occurred_at") or timezone.now(),
                location=data.get("location", ""),
                description=data.get("description", ""),
                cameras=services.cameras_from_codes(data["cameras"]),
                services=data["services"],
            )
        except ValidationError as exc:
            return _error(exc)
        return Response(
            SignalementSerializer(selectors.signalement_get(number=signalement.number)).data,
            status=status.HTTP_201_CREATED,
        )


class SignalementDetail(RetrieveAPIView):
    permission_classes = [role_permission(*ROOM_STAFF)]
    serializer_class = SignalementSerializer

    def get_object(self) -> Signalement:
        try:
            return selectors.signalement_get(number=self.kwargs["number"])
        except Signalement.DoesNotExist:
            raise NotFound from None


class ServiceArrived(APIView):
    """The alerted service arrived now (the server's clock): one call, audited."""

    permission_classes = [role_permission(*ROOM_STAFF)]

    @extend_schema(request=None, responses={200: ServiceAlertSerializer})
    def post(self, request: Request, number: str, service: str) -> Response:
        try:
            signalement = selectors.signalement_get(number=number)
        except Signalement.DoesNotExist:
            raise NotFound from None
        try:
            alert = services.signalement_service_arrived_now(
                signalement=signalement, service=service, actor=signed_in(request)
            )
        except ValidationError as exc:
            return _error(exc)
        return Response(ServiceAlertSerializer(alert).data)


class _Clock(APIView):
    permission_classes = [role_permission(*ROOM_STAFF)]
    service = staticmethod(services.shift_clock_in)
    created: int = status.HTTP_201_CREATED

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request) -> Response:
        try:
            shift = self.service(operator=signed_in(request))
        except ValidationError as exc:
            return _error(exc)
        return Response(_shift(shift), status=self.created)


class ClockIn(_Clock):
    """Clock in (the signed-in person)."""


class ClockOut(_Clock):
    """Clock out (the signed-in person)."""

    service = staticmethod(services.shift_clock_out)
    created = status.HTTP_200_OK


def _shift(shift: Shift) -> dict[str, Any]:
    return {
        "id": shift.pk,
        "operator": str(shift.operator) if shift.operator else "",
        "started_at": _when(shift.started_at),
        "ended_at": _when(shift.ended_at),
    }


class Statistics(APIView):
    """Activity statistics of a period (start and end dates included, YYYY-MM-DD)."""

    permission_classes = [role_permission(*STATISTICS_READERS)]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("end", str, required=True, description="YYYY-MM-DD"),
        ],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        form = PeriodForm(request.query_params)
        if not form.is_valid():
            return Response(form.errors, status=status.HTTP_400_BAD_REQUEST)
        period = stats.Period(form.cleaned_data["start"], form.cleaned_data["end"])
        return Response(stats.statistics(period))


# --- Links between signalements and requisitions ------------------------------------------------


class SignalementNumbersSerializer(serializers.Serializer):
    signalements = serializers.ListField(
        child=serializers.CharField(max_length=20),
        allow_empty=False,
        help_text=_("Numéros des signalements (ex. 2026-000123)."),
        error_messages={"empty": _("Indiquez au moins un numéro de signalement.")},
    )


def _requisition_json(requisition: Requisition) -> dict[str, Any]:
    if getattr(requisition, "details_withheld", False):
        # Seen, not read (evidence.selectors.DETAILS_WITHHELD): reference and status only.
        return {
            "id": requisition.pk,
            "reference": requisition.reference,
            "status": requisition.status,
            "status_label": str(requisition.get_status_display()),
            "details_withheld": True,
        }
    return {
        "id": requisition.pk,
        "reference": requisition.reference,
        "procedure_number": requisition.procedure_number,
        "service": str(requisition.service),
        "status": requisition.status,
        "status_label": str(requisition.get_status_display()),
    }


class SignalementRequisitions(APIView):
    """The requisitions linked to a signalement that the caller may see."""

    permission_classes = [role_permission(*ROOM_STAFF)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, number: str) -> Response:
        try:
            signalement = selectors.signalement_get(number=number)
        except Signalement.DoesNotExist:
            raise NotFound from None
        return Response(
            [
                _requisition_json(r)
                for r in selectors.signalement_requisitions(signalement, signed_in(request))
            ]
        )


class RequisitionSignalements(APIView):
    """The signalements a requisition concerns; the officer or the supervisor links more."""

    permission_classes = [
        role_permission(*REQUISITION_LINKERS, read_only_roles=tuple(REQUISITION_READERS))
    ]

    def _requisition(self, request: Request, pk: int) -> Requisition:
        try:
            return evidence_selectors.restrict(signed_in(request)).get(pk=pk)
        except Requisition.DoesNotExist:
            raise NotFound from None

    @staticmethod
    def _numbers(requisition: Requisition) -> list[str]:
        return [s.number for s in selectors.requisition_signalements(requisition)]

    @extend_schema(responses={200: list[str]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(self._numbers(self._requisition(request, pk)))

    @extend_schema(request=SignalementNumbersSerializer, responses={201: list[str]})
    def post(self, request: Request, pk: int) -> Response:
        requisition = self._requisition(request, pk)
        serializer = SignalementNumbersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.requisition_link_signalements(
                requisition=requisition,
                numbers=serializer.validated_data["signalements"],
                actor=signed_in(request),
            )
        except ValidationError as exc:
            return _error(exc)
        return Response(self._numbers(requisition), status=status.HTTP_201_CREATED)


class RequisitionSignalementDetail(RequisitionSignalements):
    """Remove the link between a requisition and one signalement."""

    http_method_names = ["delete", "options"]  # listing and linking are on the collection

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int, number: str) -> Response:
        requisition = self._requisition(request, pk)
        try:
            signalement = selectors.signalement_get(number=number)
        except Signalement.DoesNotExist:
            raise NotFound from None
        try:
            services.requisition_unlink_signalement(
                requisition=requisition, signalement=signalement, actor=signed_in(request)
            )
        except ValidationError as exc:
            return _error(exc)
        except PermissionDenied:
            return Response(status=status.HTTP_403_FORBIDDEN)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Alarms -------------------------------------------------------------------------------------


class AlarmSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=AlarmKind.choices, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    priority = serializers.ChoiceField(choices=AlarmPriority.choices, read_only=True)
    priority_label = serializers.CharField(source="get_priority_display", read_only=True)
    state = serializers.ChoiceField(choices=AlarmState.choices, read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    camera: serializers.SlugRelatedField[Camera] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    acknowledged_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        read_only=True, allow_null=True
    )
    closed_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        read_only=True, allow_null=True
    )
    first_seen_at = UTCDateTimeField(read_only=True)
    last_seen_at = UTCDateTimeField(read_only=True)
    cleared_at = UTCDateTimeField(read_only=True, allow_null=True)
    acknowledged_at = UTCDateTimeField(read_only=True, allow_null=True)
    closed_at = UTCDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Alarm
        fields = [
            "id",
            "kind",
            "kind_label",
            "priority",
            "priority_label",
            "state",
            "state_label",
            "title",
            "detail",
            "camera",
            "count",
            "first_seen_at",
            "last_seen_at",
            "cleared_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement",
            "closed_at",
            "closed_by",
            "closed_by_system",
        ]
        read_only_fields = fields


class AlarmCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        max_length=services.ALARM_COMMENT_MAX,
        allow_blank=True,
        required=False,
        default="",
        help_text=_("Ce qui est fait (obligatoire pour acquitter)."),
    )


class AlarmList(ListAPIView):
    """The alarms: the open ones for the room's staff, every one for the supervisors; filtered
    by state, kind, priority, camera, start, end (the day raised)."""

    permission_classes = [role_permission(*ALARM_HANDLERS)]
    serializer_class = AlarmSerializer
    filterset_class = AlarmFilter
    queryset = Alarm.objects.none()  # the schema's model; get_queryset scopes the rows

    def get_queryset(self):
        return selectors.alarms_for(signed_in(self.request))


class _AlarmAction(APIView):
    permission_classes = [role_permission(*ALARM_HANDLERS)]
    service = staticmethod(services.alarm_acknowledge)

    @extend_schema(request=AlarmCommentSerializer, responses={200: AlarmSerializer})
    def post(self, request: Request, pk: int) -> Response:
        try:
            alarm = Alarm.objects.get(pk=pk)
        except Alarm.DoesNotExist:
            raise NotFound from None
        serializer = AlarmCommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            alarm = self.service(
                alarm=alarm, comment=serializer.validated_data["comment"], actor=signed_in(request)
            )
        except ValidationError as exc:
            return _error(exc)
        return Response(AlarmSerializer(alarm).data)


class AlarmAcknowledge(_AlarmAction):
    """Acknowledge an open alarm, saying what is being done (``comment`` required)."""


class AlarmClose(_AlarmAction):
    """Close an alarm (``comment`` optional)."""

    service = staticmethod(services.alarm_close)


# --- The rota -----------------------------------------------------------------------------------


class RotaSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    operator = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True, role__in=ROOM_STAFF),
        help_text=_("Identifiant de connexion de la personne (opérateur ou chef de salle)."),
        error_messages={
            "does_not_exist": _("Aucun opérateur ni chef de salle « {value} »."),
            "invalid": _("Indiquez l'identifiant de connexion de la personne."),
        },
    )
    operator_name = serializers.CharField(source="operator.get_full_name", read_only=True)
    starts_at = serializers.DateTimeField(
        error_messages={"invalid": _("Date et heure invalides : format ISO 8601 attendu.")}
    )
    ends_at = serializers.DateTimeField(
        error_messages={"invalid": _("Date et heure invalides : format ISO 8601 attendu.")}
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RotaSlots(APIView):
    """The rota of the next 14 days; the room's supervisor adds a slot (refused when it
    overlaps another slot of the same person)."""

    permission_classes = [role_permission(*ROOM_MANAGERS, read_only_roles=tuple(ROOM_STAFF))]

    @extend_schema(responses={200: RotaSlotSerializer(many=True)})
    def get(self, request: Request) -> Response:
        now = timezone.now()
        slots = selectors.rota_between(now - timedelta(hours=12), now + timedelta(days=14))
        return Response(RotaSlotSerializer(slots, many=True).data)

    @extend_schema(request=RotaSlotSerializer, responses={201: RotaSlotSerializer})
    def post(self, request: Request) -> Response:
        serializer = RotaSlotSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            slot = services.rota_slot_add(actor=signed_in(request), **serializer.validated_data)
        except ValidationError as exc:
            return _error(exc)
        return Response(RotaSlotSerializer(slot).data, status=status.HTTP_201_CREATED)
