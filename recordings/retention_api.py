"""Endpoints of the destruction register, the purge runs and the holds (gel des images)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import signed_in
from accounts.api_auth import role_permission
from cameras.models import Camera
from recordings import holds, purge
from recordings.models import DestructionRecord, Hold, HoldRenewal, PurgeRun
from recordings.roles import HOLD_MANAGERS, RETENTION_READERS

WITHHELD = _("Détails réservés aux personnes habilitées à lire la pièce à l'origine du gel.")

PERIOD = [
    OpenApiParameter("camera", OpenApiTypes.STR, description="Code de la caméra"),
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="Images à partir de"),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="Images avant"),
]


class CameraCode(serializers.SlugRelatedField):
    """A camera by its code; a code no camera can have (a NUL byte) is unknown, not a 500."""

    def to_internal_value(self, data: Any) -> Any:
        if "\x00" in str(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return super().to_internal_value(data)


class PeriodSerializer(serializers.Serializer):
    camera = CameraCode(slug_field="code", queryset=Camera.objects.all(), required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        renamed = {"camera": data.get("camera"), "start": data.get("from"), "end": data.get("to")}
        return super().to_internal_value({k: v for k, v in renamed.items() if v})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("start") and attrs.get("end") and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError(_("La fin de la période doit suivre son début."))
        return attrs


def _period(request: Request) -> dict[str, Any]:
    period = PeriodSerializer(data=request.query_params)
    period.is_valid(raise_exception=True)
    return period.validated_data


class DestructionRecordSerializer(serializers.ModelSerializer):
    camera: serializers.SlugRelatedField[Camera] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    job_id = serializers.CharField(source="run.job_id", read_only=True)

    class Meta:
        model = DestructionRecord
        fields = [
            "id",
            "camera",
            "window_start",
            "window_end",
            "segment_count",
            "bytes",
            "digest",
            "keys",
            "job_id",
            "destroyed_at",
            "objects_deleted_at",
        ]


class FootageStatusSerializer(serializers.Serializer):
    camera = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    destroyed_segments = serializers.IntegerField()
    first_destroyed_at = serializers.DateTimeField(allow_null=True)
    last_destroyed_at = serializers.DateTimeField(allow_null=True)
    kept_segments = serializers.IntegerField()
    held_segments = serializers.IntegerField()
    entries = serializers.ListField(child=serializers.IntegerField())


@extend_schema(tags=["destructions"])
class DestructionRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Registre des destructions (DPO, chefs de salle)."""

    serializer_class = DestructionRecordSerializer
    permission_classes = [role_permission(*RETENTION_READERS)]

    def get_queryset(self) -> Any:
        if self.action == "list":
            return purge.destructions(**_period(self.request))
        return DestructionRecord.objects.select_related("camera", "run")

    @extend_schema(parameters=PERIOD)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=PERIOD, responses=FootageStatusSerializer)
    @action(detail=False, methods=["get"])
    def status(self, request: Request) -> Response:
        """Were this camera's images of this period destroyed, and when?"""
        period = _period(request)
        missing = [name for name in ("camera", "start", "end") if name not in period]
        if missing:
            raise ValidationError(
                {"detail": _("Indiquez la caméra et la période (camera, from, to).")}
            )
        found = purge.footage_status(**period)
        entries = purge.destructions(**period).filter(segment_count__gt=0)
        return Response(
            FootageStatusSerializer(
                {
                    "camera": period["camera"].code,
                    "start": period["start"],
                    "end": period["end"],
                    **found.__dict__,
                    "entries": list(entries.values_list("pk", flat=True)[:500]),
                }
            ).data
        )


class PurgeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PurgeRun
        fields = [
            "id",
            "job_id",
            "as_of",
            "started_at",
            "finished_at",
            "state",
            "segments_destroyed",
            "bytes_destroyed",
            "keys_destroyed",
            "orphans_deleted",
            "detail",
        ]


@extend_schema(tags=["destructions"])
class PurgeRunViewSet(viewsets.ReadOnlyModelViewSet):
    """The purge's runs, refusals included (DPO, chefs de salle)."""

    serializer_class = PurgeRunSerializer
    permission_classes = [role_permission(*RETENTION_READERS)]
    queryset = PurgeRun.objects.all()


class HoldRenewalSerializer(serializers.ModelSerializer):
    class Meta:
        model = HoldRenewal
        fields = [
            "renewed_at",
            "renewed_by_name",
            "previous_expires_at",
            "expires_at",
            "justification",
        ]
        read_only_fields = fields


class HoldSerializer(serializers.ModelSerializer):
    camera = serializers.SlugRelatedField(slug_field="code", queryset=Camera.objects.all())
    active = serializers.SerializerMethodField()
    renewals = HoldRenewalSerializer(many=True, read_only=True)
    reference_withheld = serializers.SerializerMethodField(
        help_text=_("Vrai quand l'appelant ne peut pas lire la pièce à l'origine du gel.")
    )
    footage_note = serializers.SerializerMethodField(
        help_text=_(
            "Dans la réponse à la création d'un gel : ce qu'il faut savoir des images (partie "
            "déjà détruite, rien d'indexé encore) ; vide sinon."
        )
    )

    class Meta:
        model = Hold
        fields = [
            "id",
            "camera",
            "starts_at",
            "ends_at",
            "basis",
            "reason",
            "reference_type",
            "reference_id",
            "reference_label",
            "justification",
            "case_reference",
            "created_by_name",
            "created_at",
            "expires_at",
            "released_at",
            "released_by_name",
            "release_reason",
            "renewals",
            "active",
            "reference_withheld",
            "footage_note",
        ]
        read_only_fields = [
            "basis",
            "reference_type",
            "reference_id",
            "reference_label",
            "created_by_name",
            "created_at",
            "released_at",
            "released_by_name",
            "release_reason",
        ]

    def get_active(self, hold: Hold) -> bool:
        return hold.is_active()

    def get_footage_note(self, hold: Hold) -> str:
        # Set by holds.hold_place on the hold it returns: known at placing only.
        return getattr(hold, "footage_note", "")

    def get_reference_withheld(self, hold: Hold) -> bool:
        # Set by holds.withhold_references: the record this hold serves is not the caller's.
        return getattr(hold, "reference_withheld", False)

    def to_representation(self, hold: Hold) -> dict[str, Any]:
        data = super().to_representation(hold)
        if data["reference_withheld"]:
            data.update(
                reason=str(WITHHELD),
                reference_label="",
                justification="",
                case_reference="",
                release_reason="",
                renewals=[dict(r, justification="") for r in data["renewals"]],
            )
        return data


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class RenewSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(
        help_text=_("Nouvelle échéance : au plus CSU_HOLD_MAX_DAYS jours à compter de maintenant.")
    )
    justification = serializers.CharField()


@extend_schema(tags=["holds"])
class HoldViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Gels des images: read by the DPO and supervisors; manual holds placed by supervisors."""

    serializer_class = HoldSerializer

    def get_permissions(self) -> list[Any]:
        if self.action in ("create", "release", "renew"):
            return [role_permission(*HOLD_MANAGERS)()]
        return [role_permission(*RETENTION_READERS)()]

    def get_queryset(self) -> Any:
        camera = None
        if self.action == "list" and self.request.query_params.get("camera"):
            camera = get_object_or_404(Camera, code=self.request.query_params["camera"])
        return holds.hold_list(
            camera=camera, only_active=self.request.query_params.get("active") == "1"
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = holds.withhold_references(signed_in(request), page if page is not None else queryset)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def get_object(self) -> Hold:
        return holds.withhold_references(signed_in(self.request), [super().get_object()])[0]

    def perform_create(self, serializer: serializers.BaseSerializer[Hold]) -> None:
        data = serializer.validated_data
        try:
            serializer.instance = holds.hold_place(
                camera=data["camera"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                basis=Hold.Basis.MANUAL,
                reason=data["reason"],
                justification=data.get("justification", ""),
                case_reference=data.get("case_reference", ""),
                expires_at=data["expires_at"],
                actor=signed_in(self.request),
            )
        except DjangoValidationError as exc:
            raise ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
            ) from None

    @extend_schema(request=ReleaseSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        hold = self.get_object()
        if hold.basis != Hold.Basis.MANUAL:
            return Response(
                {
                    "detail": _(
                        "Ce gel suit sa réquisition ou sa demande d'accès : il se lève avec elle."
                    )
                },
                status=status.HTTP_409_CONFLICT,
            )
        body = ReleaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            hold = holds.hold_release(
                hold=hold, reason=body.validated_data["reason"], actor=signed_in(request)
            )
        except DjangoValidationError as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_409_CONFLICT)
        return Response(HoldSerializer(hold).data)

    @extend_schema(request=RenewSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        hold = self.get_object()
        if hold.basis != Hold.Basis.MANUAL:
            return Response(
                {
                    "detail": _(
                        "Ce gel suit sa réquisition ou sa demande d'accès : il dure autant qu'elle."
                    )
                },
                status=status.HTTP_409_CONFLICT,
            )
        body = RenewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            hold = holds.hold_renew(
                hold=hold,
                expires_at=body.validated_data["expires_at"],
                justification=body.validated_data["justification"],
                actor=signed_in(request),
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise ValidationError(exc.message_dict) from None
            return Response({"detail": exc.messages}, status=status.HTTP_409_CONFLICT)
        return Response(HoldSerializer(hold).data)
