"""Requisitions over the API: intake, decision, export, release, download, registers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.http import Http404, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import signed_in
from accounts.api_auth import role_permission
from cameras.purposes import Purpose
from csu.lib.drf import UTCDateTimeField
from evidence import packages, selectors, services
from evidence.models import DownloadLink, Export, LegalFrame, Requisition, Window
from evidence.roles import (
    DECIDERS,
    EXTRACTION_REGISTER_READERS,
    EXTRACTORS,
    REQUESTERS,
    REQUISITION_READERS,
)

# --- Serializers --------------------------------------------------------------------------------


class UTCModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


class WindowInputSerializer(serializers.Serializer):
    camera = serializers.CharField(max_length=40)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class RequisitionCreateSerializer(serializers.Serializer):
    procedure_number = serializers.CharField(max_length=60)
    legal_frame = serializers.ChoiceField(
        choices=LegalFrame.choices,
        error_messages={"invalid_choice": _("Cadre juridique inconnu : 60-1, 77-1-1 ou 99-3.")},
    )
    prosecutor_authorization = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Enquête préliminaire (art. 77-1-1 CPP) : référence de l'autorisation du procureur "
            "de la République. Acceptée vide, mais signalée sur la réquisition et les documents."
        ),
    )
    facts = serializers.CharField()
    justification = serializers.CharField()
    attachment = serializers.FileField(help_text=_("La réquisition numérisée (PDF ou image)."))
    windows = serializers.JSONField(
        help_text=_('Liste de {"camera": code, "start": ISO 8601, "end": ISO 8601}.')
    )
    signalements = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        default=list,
        help_text=_("Numéros des signalements du CSU concernés (ex. 2026-000123)."),
    )

    def validate_windows(self, value: Any) -> list[services.WindowRequest]:
        if not isinstance(value, list) or not value:
            raise serializers.ValidationError(_("Indiquez au moins une caméra et une période."))
        windows = []
        for line, item in enumerate(value, start=1):
            serializer = WindowInputSerializer(data=item)
            if not serializer.is_valid():
                raise serializers.ValidationError(
                    _("Ligne %(n)s : %(errors)s") % {"n": line, "errors": serializer.errors}
                )
            data = serializer.validated_data
            windows.append(services.WindowRequest(data["camera"], data["start"], data["end"]))
        return windows


class WindowSerializer(UTCModelSerializer):
    camera = serializers.CharField(source="camera.code")
    camera_name = serializers.CharField(source="camera.name")
    held = serializers.SerializerMethodField()
    approved_starts_at = UTCDateTimeField(source="granted_starts_at", read_only=True)
    approved_ends_at = UTCDateTimeField(source="granted_ends_at", read_only=True)

    class Meta:
        model = Window
        fields = [
            "id",
            "camera",
            "camera_name",
            "starts_at",
            "ends_at",
            "decision",
            "approved_starts_at",
            "approved_ends_at",
            "held",
            "unavailable",
            "destroyed_at",
        ]

    def get_held(self, window: Window) -> bool:
        return window.hold is not None and window.hold.released_at is None


class ExportStartSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(
        choices=Purpose.choices,
        help_text=_(
            "La finalité de l'article L251-2 du CSI que poursuit l'extraction : l'arrêté de "
            "chaque caméra doit la lister."
        ),
        error_messages={
            "required": _("Indiquez la finalité (CSI L251-2) que poursuit cette extraction."),
            "invalid_choice": _("Finalité inconnue : « {input} »."),
        },
    )


class ExportSerializer(UTCModelSerializer):
    prepared_by = serializers.CharField(source="prepared_by.get_username")
    purpose = serializers.CharField(read_only=True)
    purpose_label = serializers.CharField(read_only=True)

    class Meta:
        model = Export
        fields = [
            "id",
            "state",
            "purpose",
            "purpose_label",
            "progress",
            "progress_label",
            "prepared_by",
            "created_at",
            "finished_at",
            "error",
            "package_size",
            "package_sha256",
            "manifest_sha256",
            "key_fingerprint",
            "files",
            "released_at",
        ]


class RequisitionSummarySerializer(UTCModelSerializer):
    """A requisition seen without being read: a supervisor's rejected one."""

    reference = serializers.CharField(read_only=True)
    details_withheld = serializers.BooleanField(read_only=True)

    class Meta:
        model = Requisition
        fields = ["id", "reference", "status", "decided_at", "details_withheld"]


class RequisitionSerializer(UTCModelSerializer):
    reference = serializers.CharField(read_only=True)
    officer = serializers.CharField(source="officer.get_username")
    service = serializers.CharField(source="service.name")
    decided_by = serializers.CharField(
        source="decided_by.get_username", default=None, allow_null=True
    )
    windows = WindowSerializer(many=True)
    prosecutor_authorization_missing = serializers.BooleanField(
        source="lacks_prosecutor_authorization",
        read_only=True,
        help_text=_("Enquête préliminaire sans référence d'autorisation du procureur."),
    )

    class Meta:
        model = Requisition
        fields = [
            "id",
            "reference",
            "procedure_number",
            "legal_frame",
            "prosecutor_authorization",
            "prosecutor_authorization_missing",
            "officer",
            "service",
            "facts",
            "justification",
            "status",
            "submitted_at",
            "footage_expires_at",
            "decided_by",
            "decided_at",
            "decision",
            "decision_reason",
            "handed_over_at",
            "finished_at",
            "attachment_name",
            "attachment_type",
            "attachment_size",
            "attachment_sha256",
            "windows",
        ]

    def to_representation(self, instance: Requisition) -> dict[str, Any]:
        if getattr(instance, "details_withheld", False):
            # Seen, not read (selectors.DETAILS_WITHHELD): the reference and the status only.
            return RequisitionSummarySerializer(instance).data
        return super().to_representation(instance)


class RequisitionDetailSerializer(RequisitionSerializer):
    export = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(RequisitionSerializer.Meta):
        fields = [*RequisitionSerializer.Meta.fields, "export", "timeline"]

    def get_export(self, requisition: Requisition) -> dict[str, Any] | None:
        export = selectors.current_export(requisition)
        return ExportSerializer(export).data if export else None

    def get_timeline(self, requisition: Requisition) -> list[dict[str, Any]]:
        return selectors.timeline(requisition)


class ApprovedPartSerializer(serializers.Serializer):
    window = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=list(services.OUTCOMES))
    windows = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    approved_parts = ApprovedPartSerializer(
        many=True,
        required=False,
        default=list,
        help_text=_("Périodes autorisées raccourcies : fenêtre, début et fin (ISO 8601)."),
    )
    prosecutor_authorization = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Enquête préliminaire (art. 77-1-1 CPP) : référence de l'autorisation du procureur, "
            "à enregistrer si l'officier ne l'a pas indiquée."
        ),
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class LinkSerializer(UTCModelSerializer):
    """A download allowed to the officer: he downloads it himself (POST .../download/)."""

    recipient = serializers.CharField(source="recipient.get_username")

    class Meta:
        model = DownloadLink
        fields = ["id", "recipient", "issued_at", "expires_at"]


# --- Views --------------------------------------------------------------------------------------

READ = role_permission(*REQUISITION_READERS)
OPJ = role_permission(*REQUESTERS)
MAGISTRATE = role_permission(*DECIDERS)
SUPERVISOR = role_permission(*EXTRACTORS)
PERMISSIONS = {
    "create": OPJ,
    "cancel": OPJ,
    "decision": MAGISTRATE,
    "export": SUPERVISOR,
    "release": SUPERVISOR,
    "reissue": SUPERVISOR,
    "review": MAGISTRATE,
    "download": OPJ,
}


def _conflict(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    list=extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="RequisitionListItem",
            serializers=[RequisitionSerializer, RequisitionSummarySerializer],
            resource_type_field_name=None,
        )
    ),
    retrieve=extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="RequisitionOrSummary",
            serializers=[RequisitionDetailSerializer, RequisitionSummarySerializer],
            resource_type_field_name=None,
        )
    ),
)
class RequisitionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    # The schema reads the id's type from here; each request is scoped by get_queryset.
    queryset = Requisition.objects.none()
    lookup_value_regex = "[0-9]+"

    def get_permissions(self):
        return [PERMISSIONS.get(self.action, READ)()]

    def get_queryset(self):
        return selectors.requisition_list(self.request.user)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return RequisitionDetailSerializer
        if self.action == "create":
            return RequisitionCreateSerializer
        return RequisitionSerializer

    def get_object(self) -> Requisition:
        try:
            return selectors.requisition_get(self.request.user, int(self.kwargs["pk"]))
        except (Requisition.DoesNotExist, ValueError):
            raise Http404 from None

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Reading is not examining: see the review action.
        return Response(RequisitionDetailSerializer(self.get_object()).data)

    @extend_schema(request=None, responses=RequisitionDetailSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str) -> Response:
        """The magistrate starts examining the requisition (submitted → under review)."""
        services.requisition_open_review(requisition=self.get_object(), actor=signed_in(request))
        return Response(RequisitionDetailSerializer(self.get_object()).data)

    @extend_schema(request=RequisitionCreateSerializer, responses=RequisitionDetailSerializer)
    def create(self, request: Request) -> Response:
        serializer = RequisitionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["attachment"]
        if upload.size > settings.EVIDENCE_ATTACHMENT_MAX_BYTES:
            content = upload.read(settings.EVIDENCE_ATTACHMENT_MAX_BYTES + 1)
        else:
            content = upload.read()
        requisition = services.requisition_submit(
            procedure_number=data["procedure_number"],
            legal_frame=data["legal_frame"],
            facts=data["facts"],
            justification=data["justification"],
            attachment_name=upload.name,
            attachment_data=content,
            windows=data["windows"],
            actor=signed_in(request),
            signalements=data["signalements"],
            prosecutor_authorization=data["prosecutor_authorization"],
        )
        requisition = selectors.requisition_get(request.user, requisition.pk)
        return Response(
            RequisitionDetailSerializer(requisition).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=DecisionSerializer, responses=RequisitionDetailSerializer)
    @action(detail=True, methods=["post"])
    def decision(self, request: Request, pk: str) -> Response:
        requisition = self.get_object()
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.requisition_decide(
                requisition=requisition,
                outcome=serializer.validated_data["outcome"],
                window_ids=serializer.validated_data["windows"],
                shortened={
                    part["window"]: (part["start"], part["end"])
                    for part in serializer.validated_data["approved_parts"]
                },
                reason=serializer.validated_data["reason"],
                prosecutor_authorization=serializer.validated_data["prosecutor_authorization"],
                actor=signed_in(request),
            )
        except services.Conflict as exc:
            return _conflict(exc)
        return Response(RequisitionDetailSerializer(self.get_object()).data)

    @extend_schema(request=ReasonSerializer, responses=RequisitionDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        requisition = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.requisition_cancel(
            requisition=requisition,
            reason=serializer.validated_data["reason"],
            actor=signed_in(request),
        )
        return Response(RequisitionDetailSerializer(self.get_object()).data)

    @extend_schema(request=ExportStartSerializer, responses=ExportSerializer)
    @action(detail=True, methods=["post"])
    def export(self, request: Request, pk: str) -> Response:
        body = ExportStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            export = services.export_start(
                requisition=self.get_object(),
                purpose=body.validated_data["purpose"],
                actor=signed_in(request),
            )
        except services.Conflict as exc:
            return _conflict(exc)
        export.refresh_from_db()
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)

    def _link_response(self, link: DownloadLink) -> Response:
        return Response(LinkSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=LinkSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str) -> Response:
        try:
            link = services.export_release(requisition=self.get_object(), actor=signed_in(request))
        except services.Conflict as exc:
            return _conflict(exc)
        return self._link_response(link)

    @extend_schema(request=None, responses=LinkSerializer)
    @action(detail=True, methods=["post"])
    def reissue(self, request: Request, pk: str) -> Response:
        link = services.link_reissue(requisition=self.get_object(), actor=signed_in(request))
        return self._link_response(link)

    @extend_schema(request=None, responses={(200, "application/zip"): bytes})
    @action(detail=True, methods=["post"])
    def download(self, request: Request, pk: str) -> Any:
        """The package, once, for the officer it was released to (a POST consumes it)."""
        requisition = self.get_object()
        try:
            export = services.handover_download(requisition=requisition, actor=signed_in(request))
        except services.DownloadRefused as exc:
            refused = (
                status.HTTP_400_BAD_REQUEST
                if requisition.officer_id == request.user.pk
                else status.HTTP_403_FORBIDDEN
            )
            return Response({"detail": str(exc)}, status=refused)
        return package_response(export)


def package_response(export: Export) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        packages.package_stream(export), content_type="application/zip"
    )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{export.package_name}.zip"
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-SHA256"] = export.package_sha256
    return response


class ExtractionRegisterSerializer(UTCModelSerializer):
    requisition = serializers.CharField(source="requisition.reference")
    procedure_number = serializers.CharField(source="requisition.procedure_number")
    service = serializers.CharField(source="requisition.service.name")
    prepared_by = serializers.CharField(source="prepared_by.get_username")
    released_by = serializers.CharField(
        source="released_by.get_username", default=None, allow_null=True
    )

    class Meta:
        model = Export
        fields = [
            "id",
            "requisition",
            "procedure_number",
            "service",
            "prepared_by",
            "created_at",
            "finished_at",
            "released_by",
            "released_at",
            "package_sha256",
            "key_fingerprint",
            "files",
        ]


class HandoverRegisterSerializer(UTCModelSerializer):
    requisition = serializers.CharField(source="export.requisition.reference")
    procedure_number = serializers.CharField(source="export.requisition.procedure_number")
    service = serializers.CharField(source="export.requisition.service.name")
    recipient = serializers.CharField(source="recipient.get_username")
    issued_by = serializers.CharField(source="issued_by.get_username")
    package_sha256 = serializers.CharField(source="export.package_sha256")
    handover_record_signature_state = serializers.SerializerMethodField(
        help_text=_(
            "Signature du procès-verbal de remise, vérifiée à la lecture : « vérifiée », "
            "« INVALIDE », « non signé » ou « absent »."
        )
    )

    class Meta:
        model = DownloadLink
        fields = [
            "id",
            "requisition",
            "procedure_number",
            "service",
            "recipient",
            "issued_by",
            "issued_at",
            "used_at",
            "package_sha256",
            "handover_record_sha256",
            "handover_record_signature",
            "handover_record_signature_state",
        ]

    def get_handover_record_signature_state(self, link: DownloadLink) -> str:
        return selectors.handover_signature(link)


REGISTERS = role_permission(*EXTRACTION_REGISTER_READERS)


class ExtractionRegisterView(viewsets.ReadOnlyModelViewSet):
    permission_classes = [REGISTERS]
    serializer_class = ExtractionRegisterSerializer

    def get_queryset(self):
        return selectors.extraction_register()


class HandoverRegisterView(viewsets.ReadOnlyModelViewSet):
    permission_classes = [REGISTERS]
    serializer_class = HandoverRegisterSerializer

    def get_queryset(self):
        return selectors.handover_register()
