"""Reads of the people and habilitation registers, as the administrator's pages filter them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Agreement, Commune, Habilitation, User
from audit.models import AuditEvent

SIGN_IN_ACTIONS = ("auth.login", "auth.logout")
FAILED_SIGN_IN_ACTIONS = ("auth.login_failed", "auth.locked_out", "auth.second_factor_failed")


def user_list(*, day: date) -> QuerySet[User]:
    """Users with their second-factor state and the habilitations valid on ``day``.

    accounts.filters.UserFilter narrows them for the page and the API.
    """
    return (
        User.objects.select_related("service")
        .annotate(
            enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            valid_habilitations=Count(
                "habilitations",
                filter=Q(
                    habilitations__revoked_at__isnull=True,
                    habilitations__valid_from__lte=day,
                    habilitations__valid_until__gte=day,
                ),
            ),
        )
        .order_by("last_name", "first_name", "username")
    )


def habilitation_list() -> QuerySet[Habilitation]:
    """Habilitations, soonest end first (accounts.filters.HabilitationFilter narrows them)."""
    return (
        Habilitation.objects.select_related("user", "commune")
        .prefetch_related("user__trainings")
        .order_by("valid_until", "id")
    )


def second_factor_state(user: User) -> str:
    """ "enrolled", "pending" (enrolment started, not confirmed) or "none"."""
    confirmed = list(TOTPDevice.objects.filter(user=user).values_list("confirmed", flat=True))
    if any(confirmed):
        return "enrolled"
    return "pending" if confirmed else "none"


def user_history(user: User, *, limit: int = 10) -> dict[str, Any]:
    """What the audit trail says about the account: sign-ins, failures, changes."""
    as_target = AuditEvent.objects.filter(target_type="accounts.user", target_id=str(user.pk))
    return {
        "sign_ins": AuditEvent.objects.filter(
            actor_id=user.pk, action__in=SIGN_IN_ACTIONS
        ).order_by("-seq")[:limit],
        "failures": AuditEvent.objects.filter(
            Q(target_type="accounts.user"),
            Q(target_id=str(user.pk)) | Q(target_id="", target_label=user.username),
            action__in=FAILED_SIGN_IN_ACTIONS,
        ).order_by("-seq")[:limit],
        "changes": as_target.exclude(action__in=SIGN_IN_ACTIONS + FAILED_SIGN_IN_ACTIONS).order_by(
            "-seq"
        )[: limit * 2],
    }


def habilitation_history(habilitation: Habilitation) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type="accounts.habilitation", target_id=str(habilitation.pk)
    ).order_by("-seq")


def commune_list() -> QuerySet[Commune]:
    """The communes, with how many cameras and habilitations each holds."""
    return Commune.objects.annotate(
        camera_count=Count("cameras", distinct=True),
        habilitation_count=Count("habilitations", distinct=True),
    ).order_by("name", "insee_code")


def agreement_list() -> QuerySet[Agreement]:
    """The conventions, latest in force first, with their communes."""
    return Agreement.objects.select_related("created_by", "ended_by").prefetch_related(
        "viewer_communes", "camera_communes"
    )


def agreement_history(agreement: Agreement) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type="accounts.agreement", target_id=str(agreement.pk)
    ).order_by("-seq")
