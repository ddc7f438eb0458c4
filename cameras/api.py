"""The camera register's endpoints: cameras, masks, snapshots, health, authorizations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import F, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import signed_in
from accounts.api_auth import IsVerified, role_permission
from accounts.models import Commune, User
from accounts.qualities import Quality
from cameras import retention, selectors, services
from cameras.filters import AuthorizationFilter, CameraFilter
from cameras.models import (
    LEGAL_MAX_RETENTION_DAYS,
    Authorization,
    AuthorizationAlert,
    Camera,
    CameraOutage,
    Device,
    PrivacyMask,
    RetentionChange,
)
from cameras.purposes import Purpose
from cameras.roles import (
    AUTHORIZATION_ALERT_HANDLERS,
    AUTHORIZATION_ALERT_READERS,
    HEALTH_WATCHERS,
    MASK_EDITORS,
    MASK_VALIDATORS,
    REGISTER_MANAGERS,
    REGISTER_READERS,
    RETENTION_DECIDERS,
    RETENTION_READERS,
)
from cameras.video import SourceError
from csu.lib.drf import UTCDateTimeField, instance_of

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

RETENTION_ERRORS: dict[str, StrOrPromise] = {
    "max_value": _("La conservation ne peut dépasser %(days)s jours, le maximum légal.")
    % {"days": LEGAL_MAX_RETENTION_DAYS},
    "min_value": _("La conservation dure au moins un jour."),
}

# --- Serializers --------------------------------------------------------------------------------


class AuthorizationSerializer(serializers.ModelSerializer):
    expires_on = serializers.DateField(
        required=False, help_text=_("Par défaut : 5 ans après la date de l'arrêté.")
    )
    retention_days = serializers.IntegerField(
        min_value=1, max_value=LEGAL_MAX_RETENTION_DAYS, error_messages=RETENTION_ERRORS
    )
    days_left = serializers.IntegerField(read_only=True)
    alert_days = serializers.IntegerField(read_only=True, allow_null=True)
    cameras: serializers.SlugRelatedField[Camera] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    purposes = serializers.ListField(
        child=serializers.ChoiceField(choices=Purpose.choices),
        allow_empty=False,
        help_text=_("Les finalités de l'article L251-2 du CSI que l'arrêté autorise."),
    )
    qualities = serializers.ListField(
        child=serializers.ChoiceField(choices=Quality.choices),
        allow_empty=False,
        help_text=_("Les qualités des personnes que l'arrêté habilite à visionner (CSI L252-2)."),
    )

    class Meta:
        model = Authorization
        fields = [
            "id",
            *services.AUTHORIZATION_FIELDS,
            "is_valid",
            "days_left",
            "alert_days",
            "cameras",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class RetentionChangeSerializer(serializers.ModelSerializer):
    camera: serializers.SlugRelatedField[Camera] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    requested_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()
    decided_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = RetentionChange
        fields = [
            "id",
            "camera",
            "old_days",
            "new_days",
            "reason",
            "requested_by",
            "requested_at",
            "state",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class RetentionDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class CameraSerializer(serializers.ModelSerializer):
    retention_days = serializers.IntegerField(
        min_value=1,
        max_value=LEGAL_MAX_RETENTION_DAYS,
        required=False,
        error_messages=RETENTION_ERRORS,
    )
    authorization = serializers.PrimaryKeyRelatedField(
        queryset=Authorization.objects.all(), required=False, allow_null=True
    )
    authorization_number = serializers.CharField(
        source="authorization.number", read_only=True, default=None, allow_null=True
    )
    commune = serializers.SlugRelatedField(
        slug_field="insee_code",
        queryset=Commune.objects.all(),
        required=False,
        help_text=_(
            "Code INSEE de la commune à qui appartient la caméra ; par défaut, celle qui exploite "
            "le CSU."
        ),
        error_messages={"does_not_exist": _("Aucune commune ne porte le code INSEE « {value} ».")},
    )
    commune_name = serializers.CharField(source="commune.name", read_only=True)
    device = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Device.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Code de l'équipement dont la caméra est un capteur."),
        error_messages={"does_not_exist": _("Aucun équipement ne porte le code « {value} ».")},
    )
    stream_username = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200
    )
    stream_password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        style={"input_type": "password"},
    )
    clear_credentials = serializers.BooleanField(write_only=True, required=False, default=False)
    retention_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=_("Motif d'une réduction de la conservation, transmis au DPO."),
    )
    retention_change_pending = serializers.SerializerMethodField(
        help_text=_(
            "La réduction de la conservation en attente de validation par le DPO, s'il y en a "
            "une : retention_days reste la durée en vigueur d'ici là."
        )
    )
    has_credentials = serializers.BooleanField(read_only=True)
    flags = serializers.SerializerMethodField()
    mask_version = serializers.IntegerField(read_only=True, default=None, allow_null=True)

    class Meta:
        model = Camera
        fields = [
            "id",
            "code",
            "name",
            "address",
            "latitude",
            "longitude",
            "commune",
            "commune_name",
            "sector",
            "kind",
            "infrared",
            "commissioned_on",
            "status",
            "retention_days",
            "authorization",
            "authorization_number",
            "device",
            "police_relay",
            "stream_url",
            "live_stream_url",
            "stream_username",
            "stream_password",
            "clear_credentials",
            "retention_reason",
            "retention_change_pending",
            "has_credentials",
            "expected_fps",
            "health_status",
            "health_checked_at",
            "health_detail",
            "mask_version",
            "flags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "health_status",
            "health_checked_at",
            "health_detail",
            "created_at",
            "updated_at",
        ]

    def get_flags(self, camera: Camera) -> list[str]:
        return selectors.camera_flags(camera)

    @extend_schema_field(RetentionChangeSerializer(allow_null=True))
    def get_retention_change_pending(self, camera: Camera) -> dict[str, Any] | None:
        pending = getattr(camera, "pending_retention_changes", None)
        if pending is None:
            pending = list(camera.retention_changes.filter(state=RetentionChange.State.PENDING))
        return RetentionChangeSerializer(pending[0]).data if pending else None


class DeviceSerializer(serializers.ModelSerializer):
    authorization = serializers.PrimaryKeyRelatedField(
        queryset=Authorization.objects.all(), required=False, allow_null=True
    )
    authorization_number = serializers.CharField(
        source="authorization.number", read_only=True, default=None, allow_null=True
    )
    stream_username = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200
    )
    stream_password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        style={"input_type": "password"},
    )
    clear_credentials = serializers.BooleanField(write_only=True, required=False, default=False)
    has_credentials = serializers.BooleanField(read_only=True)
    sensors: serializers.SlugRelatedField[Camera] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = Device
        fields = [
            "id",
            "code",
            "name",
            "host",
            "address",
            "authorization",
            "authorization_number",
            "manufacturer",
            "model_name",
            "stream_username",
            "stream_password",
            "clear_credentials",
            "has_credentials",
            "health_status",
            "health_checked_at",
            "last_seen_at",
            "sensors",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "health_status",
            "health_checked_at",
            "last_seen_at",
            "created_at",
            "updated_at",
        ]


class PrivacyMaskSerializer(serializers.ModelSerializer):
    # Checked by the model (precise messages on point counts and bounds), not here.
    polygons = serializers.JSONField()
    author: serializers.StringRelatedField[User] = serializers.StringRelatedField()
    validated_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = PrivacyMask
        fields = [
            "version",
            "polygons",
            "note",
            "author",
            "created_at",
            "validated_by",
            "validated_at",
        ]
        read_only_fields = ["version", "author", "created_at", "validated_by", "validated_at"]


class OutageSerializer(serializers.ModelSerializer):
    class Meta:
        model = CameraOutage
        fields = ["status", "started_at", "ended_at", "detail"]


class HealthSerializer(serializers.ModelSerializer):
    flags = serializers.SerializerMethodField()
    unauthorized_reason = serializers.SerializerMethodField(
        help_text=_(
            "Pourquoi la caméra n'est ni enregistrée ni visible en direct faute d'autorisation "
            "préfectorale en vigueur ; vide sinon."
        )
    )
    unauthorized_since = UTCDateTimeField(
        read_only=True,
        allow_null=True,
        help_text=_("Depuis quand la caméra est arrêtée faute d'autorisation (UTC) ; null sinon."),
    )
    device: serializers.SlugRelatedField[Device] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = Camera
        fields = [
            "code",
            "name",
            "sector",
            "device",
            "health_status",
            "health_checked_at",
            "health_detail",
            "flags",
            "unauthorized_reason",
            "unauthorized_since",
        ]

    def get_flags(self, camera: Camera) -> list[str]:
        return selectors.camera_flags(camera)

    def get_unauthorized_reason(self, camera: Camera) -> str:
        return camera.authorization_refusal()


class AuthorizationAlertSerializer(serializers.ModelSerializer):
    authorization: serializers.SlugRelatedField[Authorization] = serializers.SlugRelatedField(
        slug_field="number", read_only=True
    )
    days_left = serializers.IntegerField(
        read_only=True, help_text=_("Jours restants jusqu'à l'échéance ; négatif une fois passée.")
    )
    state = serializers.ChoiceField(
        choices=["open", "acknowledged", "superseded"],
        read_only=True,
        help_text=_("open : à traiter ; acknowledged : prise en compte ; superseded : close."),
    )
    cameras = serializers.SerializerMethodField(
        help_text=_("Caméras couvertes par l'autorisation.")
    )
    acknowledged_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        allow_null=True
    )
    raised_at = UTCDateTimeField(read_only=True)
    acknowledged_at = UTCDateTimeField(read_only=True, allow_null=True)
    superseded_at = UTCDateTimeField(read_only=True, allow_null=True)
    # Declared: a read-only model field would lose its blank value ("" while the alert is open).
    superseded_reason = serializers.ChoiceField(
        choices=AuthorizationAlert.Supersession.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = AuthorizationAlert
        fields = [
            "id",
            "authorization",
            "authorization_id",
            "threshold",
            "expires_on",
            "days_left",
            "raised_at",
            "state",
            "cameras",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement_note",
            "superseded_at",
            "superseded_reason",
        ]
        read_only_fields = fields

    def get_cameras(self, alert: AuthorizationAlert) -> list[str]:
        return [camera.code for camera in alert.authorization.cameras.all()]


class AcknowledgementSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    who = serializers.CharField()
    what = serializers.CharField()
    changes = serializers.JSONField()


# --- Views --------------------------------------------------------------------------------------

READERS = tuple(REGISTER_READERS - REGISTER_MANAGERS)


class CameraViewSet(viewsets.ModelViewSet):
    serializer_class = CameraSerializer
    filterset_class = CameraFilter
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]*"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        if self.action == "snapshot":
            return [IsVerified()]
        if self.action == "health":
            return [role_permission(*HEALTH_WATCHERS)()]
        if self.action == "validate_mask":
            return [role_permission(*MASK_VALIDATORS)()]
        if self.action == "masks":
            return [role_permission(*MASK_EDITORS, read_only_roles=tuple(REGISTER_READERS))()]
        return [role_permission(*REGISTER_MANAGERS, read_only_roles=READERS)()]

    def get_queryset(self):
        return selectors.camera_list().prefetch_related(
            Prefetch(
                "retention_changes",
                queryset=RetentionChange.objects.filter(state=RetentionChange.State.PENDING),
                to_attr="pending_retention_changes",
            )
        )

    def perform_create(self, serializer: serializers.BaseSerializer[Camera]) -> None:
        data = dict(serializer.validated_data)
        data.pop("clear_credentials", None)
        data.pop("retention_reason", None)
        camera = services.camera_create(actor=signed_in(self.request), **data)
        serializer.instance = selectors.camera_get(code=camera.code)

    def perform_update(self, serializer: serializers.BaseSerializer[Camera]) -> None:
        data = dict(serializer.validated_data)
        camera = services.camera_update(
            camera=Camera.objects.get(pk=instance_of(serializer).pk),
            actor=signed_in(self.request),
            stream_username=data.pop("stream_username", None) or None,
            stream_password=data.pop("stream_password", None) or None,
            clear_credentials=data.pop("clear_credentials", False),
            **data,
        )
        serializer.instance = selectors.camera_get(code=camera.code)

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, code: str | None = None) -> Response:
        camera = self.get_object()
        return Response(HistoryEntrySerializer(selectors.camera_history(camera), many=True).data)

    @extend_schema(responses=OutageSerializer(many=True))
    @action(detail=True, methods=["get"])
    def outages(self, request: Request, code: str | None = None) -> Response:
        camera = self.get_object()
        page = self.paginate_queryset(camera.outages.all())
        return self.get_paginated_response(OutageSerializer(page, many=True).data)

    @extend_schema(request=PrivacyMaskSerializer, responses=PrivacyMaskSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def masks(self, request: Request, code: str | None = None) -> Response:
        """The mask versions, newest first; POST adds a new version (chef de salle)."""
        camera = self.get_object()
        if request.method == "POST":
            body = PrivacyMaskSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            mask = services.mask_save(
                camera=camera,
                polygons=body.validated_data["polygons"],
                note=body.validated_data.get("note", ""),
                actor=signed_in(request),
            )
            return Response(PrivacyMaskSerializer(mask).data, status=status.HTTP_201_CREATED)
        versions = camera.mask_versions.select_related("author", "validated_by")
        return Response(PrivacyMaskSerializer(versions, many=True).data)

    @extend_schema(request=None, responses=PrivacyMaskSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"masks/(?P<version>[0-9]+)/validate",
        url_name="mask-validate",
    )
    def validate_mask(
        self, request: Request, code: str | None = None, version: str | None = None
    ) -> Response:
        camera = self.get_object()
        mask = get_object_or_404(PrivacyMask, camera=camera, version=version)
        mask = services.mask_validate(mask=mask, actor=signed_in(request))
        return Response(PrivacyMaskSerializer(mask).data)

    @extend_schema(request=None, responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def snapshot(self, request: Request, code: str | None = None) -> Any:
        """The current image as JPEG, software masks burnt in (live-view habilitation)."""
        camera = get_object_or_404(Camera, code=code)
        try:
            data = services.snapshot_take(camera=camera, actor=signed_in(request))
        except SourceError as exc:
            return Response(
                {"detail": _("Image indisponible : %(error)s") % {"error": exc}},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "no-store, private"
        return response

    @extend_schema(request=None, responses=CameraSerializer)
    @action(detail=True, methods=["post"], url_path="reset-reference")
    def reset_reference(self, request: Request, code: str | None = None) -> Response:
        camera = services.camera_reset_reference(camera=self.get_object(), actor=signed_in(request))
        return Response(CameraSerializer(selectors.camera_get(code=camera.code)).data)

    @extend_schema(responses=HealthSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def health(self, request: Request) -> Response:
        """Cameras in service, most severe state first."""
        return Response(HealthSerializer(selectors.health_board(), many=True).data)


class DeviceViewSet(viewsets.ModelViewSet):
    """Multi-sensor devices: one address, authorization and login for several cameras."""

    serializer_class = DeviceSerializer
    permission_classes = [role_permission(*REGISTER_MANAGERS, read_only_roles=READERS)]
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]*"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.device_list().prefetch_related("sensors")

    def perform_create(self, serializer: serializers.BaseSerializer[Device]) -> None:
        data = dict(serializer.validated_data)
        data.pop("clear_credentials", None)
        device = services.device_create(actor=signed_in(self.request), **data)
        serializer.instance = self.get_queryset().get(pk=device.pk)

    def perform_update(self, serializer: serializers.BaseSerializer[Device]) -> None:
        data = dict(serializer.validated_data)
        device = services.device_update(
            device=Device.objects.get(pk=instance_of(serializer).pk),
            actor=signed_in(self.request),
            stream_username=data.pop("stream_username", None) or None,
            stream_password=data.pop("stream_password", None) or None,
            clear_credentials=data.pop("clear_credentials", False),
            **data,
        )
        serializer.instance = self.get_queryset().get(pk=device.pk)


class RetentionChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """Lowerings of a camera's retention: asked by a manager (PATCH of the camera's
    retention_days answers 200 with the camera, its retention unchanged and the request in
    retention_change_pending), validated or refused by the DPO."""

    serializer_class = RetentionChangeSerializer
    permission_classes = [
        role_permission(
            *RETENTION_DECIDERS, read_only_roles=tuple(RETENTION_READERS - RETENTION_DECIDERS)
        )
    ]

    def get_queryset(self):
        return RetentionChange.objects.select_related("camera", "requested_by", "decided_by")

    def _decide(self, request: Request, decide: Any) -> Response:
        change = self.get_object()
        body = RetentionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            change = decide(
                change=change, actor=signed_in(request), note=body.validated_data["note"]
            )
        except retention.RetentionChangeClosed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RetentionChangeSerializer(change).data)

    @extend_schema(request=RetentionDecisionSerializer, responses=RetentionChangeSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        """The DPO validates: the lower retention applies to footage recorded from now on."""
        return self._decide(request, retention.retention_change_validate)

    @extend_schema(request=RetentionDecisionSerializer, responses=RetentionChangeSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        """The DPO refuses, with a reason (note): the camera keeps its retention."""
        return self._decide(request, retention.retention_change_refuse)


class AuthorizationViewSet(viewsets.ModelViewSet):
    serializer_class = AuthorizationSerializer
    filterset_class = AuthorizationFilter
    permission_classes = [role_permission(*REGISTER_MANAGERS, read_only_roles=READERS)]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.authorization_list().prefetch_related("cameras")

    def perform_create(self, serializer: serializers.BaseSerializer[Authorization]) -> None:
        serializer.instance = services.authorization_create(
            actor=signed_in(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer[Authorization]) -> None:
        serializer.instance = services.authorization_update(
            authorization=Authorization.objects.get(pk=instance_of(serializer).pk),
            actor=signed_in(self.request),
            **serializer.validated_data,
        )

    @extend_schema(responses=AuthorizationSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def alerts(self, request: Request) -> Response:
        """Authorizations expired or expiring within 180 days."""
        alerts = selectors.authorization_alerts().prefetch_related("cameras")
        return Response(AuthorizationSerializer(alerts, many=True).data)


class AuthorizationAlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Expiry alerts of the prefectoral authorizations (180, 90, 30 days before, then expired),
    open ones first: tasks that supervisors and administrators acknowledge; the DPO reads them."""

    serializer_class = AuthorizationAlertSerializer
    permission_classes = [
        role_permission(
            *AUTHORIZATION_ALERT_HANDLERS,
            read_only_roles=tuple(AUTHORIZATION_ALERT_READERS - AUTHORIZATION_ALERT_HANDLERS),
        )
    ]

    def get_queryset(self):
        return selectors.authorization_alert_list().order_by(
            F("superseded_at").asc(nulls_first=True),
            F("acknowledged_at").asc(nulls_first=True),
            "-raised_at",
            "-pk",
        )

    @extend_schema(request=AcknowledgementSerializer, responses=AuthorizationAlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Take the alert into account, with an optional note (audited); answers 409 when it
        was already acknowledged or closed. The next, narrower threshold raises a new alert."""
        alert = self.get_object()
        body = AcknowledgementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            alert = services.authorization_alert_acknowledge(
                alert=alert, actor=signed_in(request), note=body.validated_data["note"]
            )
        except services.AlertClosed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(AuthorizationAlertSerializer(self.get_queryset().get(pk=alert.pk)).data)
