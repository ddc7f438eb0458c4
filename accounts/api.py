"""The accounts endpoints: who am I, API tokens, users, services, habilitations, communes and
their conventions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.fields import ChoiceField
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import passwords, services
from accounts.actors import signed_in
from accounts.api_auth import ExpiringTokenAuthentication, IsVerified, role_permission
from accounts.filters import HabilitationFilter, UserFilter
from accounts.models import (
    Agreement,
    AgreementState,
    Commune,
    Habilitation,
    Service,
    Training,
    User,
)
from accounts.roles import (
    COMMUNE_MANAGERS,
    COMMUNE_READERS,
    PEOPLE_MANAGERS,
    PEOPLE_READERS,
    SERVICE_READERS,
)
from csu.lib.drf import UTCDateTimeField, instance_of

# --- Serializers --------------------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "code", "name", "kind", "email"]


class UserSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(
        slug_field="code", queryset=Service.objects.all(), required=False, allow_null=True
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        style={"input_type": "password"},
        help_text=passwords.rules_text,
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "service",
            "badge_number",
            "is_active",
            "password",
            "last_login",
        ]
        read_only_fields = ["id", "last_login"]


class MeSerializer(serializers.ModelSerializer):
    service = ServiceSerializer(read_only=True, allow_null=True)
    requires_second_factor = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "service",
            "requires_second_factor",
        ]


class CommuneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Commune
        fields = ["id", "name", "insee_code"]


class AgreementSerializer(serializers.ModelSerializer):
    viewer_communes = serializers.PrimaryKeyRelatedField(
        queryset=Commune.objects.all(),
        many=True,
        help_text=_("Les communes dont les agents visionnent (identifiants)."),
    )
    camera_communes = serializers.PrimaryKeyRelatedField(
        queryset=Commune.objects.all(),
        many=True,
        help_text=_("Les communes dont les caméras sont visionnées (identifiants)."),
    )
    state = serializers.SerializerMethodField()
    created_at = UTCDateTimeField(read_only=True)
    ended_at = UTCDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Agreement
        fields = [
            "id",
            "reference",
            "title",
            "signed_on",
            "signed_by",
            "valid_from",
            "valid_until",
            "viewer_communes",
            "camera_communes",
            "state",
            "created_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = ["id", "state", "created_at", "ended_at", "end_reason"]

    @extend_schema_field(
        ChoiceField(choices=AgreementState.choices, help_text=_("État à cet instant."))
    )
    def get_state(self, agreement: Agreement) -> str:
        return agreement.state_at(timezone.now()).value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("valid_from"), attrs.get("valid_until")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"valid_until": _("La fin de la convention précède son entrée en vigueur.")}
            )
        return attrs


class AgreementEndSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=3, max_length=2000)


class HabilitationSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    commune = serializers.PrimaryKeyRelatedField(
        queryset=Commune.objects.all(),
        required=False,
        help_text=_("La commune qui emploie la personne ; par défaut, celle qui exploite le CSU."),
    )
    sectors = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text=_(
            "Secteurs du registre des caméras ; un secteur que le registre ne connaît pas est "
            "refusé (400, la réponse le nomme)."
        ),
    )
    camera_codes = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text=_(
            "Codes de caméras en service du registre ; un code inconnu ou d'une caméra déposée "
            "est refusé (400, la réponse le nomme)."
        ),
    )

    class Meta:
        model = Habilitation
        fields = [
            "id",
            "user",
            "commune",
            "decision_reference",
            "issuer",
            "valid_from",
            "valid_until",
            "all_cameras",
            "sectors",
            "camera_codes",
            "can_live",
            "can_replay",
            "can_extract",
            "created_at",
            "revoked_at",
            "revocation_reason",
        ]
        read_only_fields = ["id", "created_at", "revoked_at", "revocation_reason"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "last_training_on" in self.initial_data:
            # Formerly accepted here: refused in words rather than silently dropped.
            raise serializers.ValidationError(
                {
                    "last_training_on": _(
                        "La formation est celle de la personne, pas de l'habilitation : "
                        "enregistrez-la par POST /api/users/{id}/trainings/."
                    )
                }
            )
        start = attrs.get("valid_from", getattr(self.instance, "valid_from", None))
        end = attrs.get("valid_until", getattr(self.instance, "valid_until", None))
        if start and end and end < start:
            raise serializers.ValidationError(
                {"valid_until": _("La fin de validité précède son début.")}
            )
        rights = [
            attrs.get(f, getattr(self.instance, f, False))
            for f in ("can_live", "can_replay", "can_extract")
        ]
        if not any(rights):
            raise serializers.ValidationError(_("Une habilitation accorde au moins un droit."))
        return attrs


class TrainingSerializer(serializers.ModelSerializer):
    """A training the person followed (CSI L255-1), with its state for all their habilitations."""

    recorded_at = UTCDateTimeField(read_only=True)
    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Training
        fields = [
            "id",
            "held_on",
            "kind",
            "title",
            "organisation",
            "attestation_reference",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = ["id", "recorded_at", "recorded_by"]


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=3, max_length=2000)


# --- Views --------------------------------------------------------------------------------------


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request: Request) -> Response:
    return Response(MeSerializer(signed_in(request)).data)


class TokenResponse(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


@extend_schema(methods=["POST"], request=None, responses={201: TokenResponse})
@extend_schema(methods=["DELETE"], request=None, responses={204: None})
@api_view(["POST", "DELETE"])
@permission_classes([IsVerified])
def issue_token(request: Request) -> Response:
    """POST: a fresh API token for the signed-in person (the previous one is revoked).

    DELETE: sign the API out, revoking the person's tokens (the one presented included).
    """
    if request.method == "DELETE":
        services.api_tokens_revoke(
            user=signed_in(request), actor=signed_in(request), cause="signed_out"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
    if isinstance(request.successful_authenticator, ExpiringTokenAuthentication):
        raise exceptions.PermissionDenied(
            _("Un jeton ne peut pas servir à obtenir un autre jeton.")
        )
    key, token = services.api_token_issue(user=signed_in(request))
    return Response(
        {"token": key, "expires_at": token.created + settings.API_TOKEN_LIFETIME},
        status=status.HTTP_201_CREATED,
    )


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    permission_classes = [role_permission(*PEOPLE_MANAGERS, read_only_roles=tuple(SERVICE_READERS))]


class UserViewSet(viewsets.ModelViewSet):
    serializer_class = UserSerializer
    filterset_class = UserFilter
    permission_classes = [role_permission(*PEOPLE_MANAGERS, read_only_roles=tuple(PEOPLE_READERS))]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return User.objects.select_related("service").order_by("username")

    def perform_create(self, serializer: serializers.BaseSerializer[User]) -> None:
        data = dict(serializer.validated_data)
        password = data.pop("password", None)
        if not password:
            raise serializers.ValidationError({"password": [_("Ce champ est obligatoire.")]})
        data.pop("is_active", None)
        serializer.instance = services.user_create(
            password=password, actor=signed_in(self.request), **data
        )

    @extend_schema(methods=["GET"], responses=TrainingSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=TrainingSerializer, responses={201: TrainingSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def trainings(self, request: Request, pk: str | None = None) -> Response:
        """GET: the person's trainings, latest first. POST: record one they followed (CSI
        L255-1), administrators only, as the person's page does; a date to come is refused."""
        account = self.get_object()
        if request.method == "GET":
            return Response(TrainingSerializer(account.trainings.all(), many=True).data)
        body = TrainingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        training = services.training_record(
            user=account, actor=signed_in(request), **body.validated_data
        )
        return Response(TrainingSerializer(training).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: serializers.BaseSerializer[User]) -> None:
        data = dict(serializer.validated_data)
        data.pop("username", None)
        password = data.pop("password", None)
        with transaction.atomic():
            user = services.user_update(
                user=instance_of(serializer), actor=signed_in(self.request), **data
            )
            if password:
                services.user_set_password(
                    user=user, password=password, actor=signed_in(self.request)
                )
        serializer.instance = user


class HabilitationViewSet(viewsets.ModelViewSet):
    serializer_class = HabilitationSerializer
    filterset_class = HabilitationFilter
    permission_classes = [role_permission(*PEOPLE_MANAGERS, read_only_roles=tuple(PEOPLE_READERS))]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Habilitation.objects.select_related("user", "commune").order_by("-valid_until", "id")

    def perform_create(self, serializer: serializers.BaseSerializer[Habilitation]) -> None:
        serializer.instance = services.habilitation_create(
            actor=signed_in(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer[Habilitation]) -> None:
        habilitation = instance_of(serializer)
        data = dict(serializer.validated_data)
        if "user" in data and data["user"] != habilitation.user:
            raise serializers.ValidationError(
                {"user": [_("Une habilitation ne change pas de titulaire.")]}
            )
        data.pop("user", None)
        serializer.instance = services.habilitation_update(
            habilitation=habilitation, actor=signed_in(self.request), **data
        )

    @extend_schema(request=RevokeSerializer, responses=HabilitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        habilitation = self.get_object()
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if habilitation.revoked_at:
            raise exceptions.ValidationError({"detail": _("Cette habilitation est déjà retirée.")})
        habilitation = services.habilitation_revoke(
            habilitation=habilitation,
            actor=signed_in(request),
            reason=body.validated_data["reason"],
        )
        return Response(HabilitationSerializer(habilitation).data)


class CommuneViewSet(viewsets.ModelViewSet):
    """The communes the CSU serves (an intercommunal CSU serves several)."""

    serializer_class = CommuneSerializer
    queryset = Commune.objects.order_by("name", "insee_code")
    permission_classes = [
        role_permission(*COMMUNE_MANAGERS, read_only_roles=tuple(COMMUNE_READERS))
    ]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Commune]) -> None:
        serializer.instance = services.commune_create(
            actor=signed_in(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer[Commune]) -> None:
        serializer.instance = services.commune_update(
            commune=instance_of(serializer),
            actor=signed_in(self.request),
            **serializer.validated_data,
        )


class AgreementViewSet(viewsets.ModelViewSet):
    """The conventions that open a commune's cameras to another's agents; recorded, then ended,
    never changed."""

    serializer_class = AgreementSerializer
    permission_classes = [
        role_permission(*COMMUNE_MANAGERS, read_only_roles=tuple(COMMUNE_READERS))
    ]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return Agreement.objects.prefetch_related("viewer_communes", "camera_communes").order_by(
            "-valid_from", "reference"
        )

    def perform_create(self, serializer: serializers.BaseSerializer[Agreement]) -> None:
        serializer.instance = services.agreement_create(
            actor=signed_in(self.request), **serializer.validated_data
        )

    @extend_schema(request=AgreementEndSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """End the convention now, with its reason."""
        agreement = self.get_object()
        body = AgreementEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if agreement.ended_at:
            raise exceptions.ValidationError({"detail": _("Cette convention a déjà pris fin.")})
        agreement = services.agreement_end(
            agreement=agreement, actor=signed_in(request), reason=body.validated_data["reason"]
        )
        return Response(AgreementSerializer(agreement).data)
