"""Reads of the people and habilitation registers, as the administrator's pages filter them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    TRAINING_WARNING_DAYS,
    Agreement,
    Commune,
    Habilitation,
    Training,
    TrainingState,
    User,
    training_expires_on,
    training_state,
)
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


@dataclass(frozen=True)
class TrainingToRenew:
    """A habilitated person whose training (CSI L255-1) has lapsed, lapses soon, or is missing."""

    person: User
    #: Their latest training held by the day asked, None when none is recorded.
    training: Training | None
    expires_on: date | None
    state: TrainingState
    #: Days until it lapses (negative once lapsed), None without a training.
    days_left: int | None
    #: Their habilitations in force or to come, which the training conditions.
    habilitations: int

    @property
    def days_overdue(self) -> int:
        """Days since it lapsed, 0 while it has not."""
        return max(0, -(self.days_left or 0))


def trainings_to_renew(*, day: date) -> list[TrainingToRenew]:
    """Active people holding a habilitation not ended nor withdrawn whose training has lapsed,
    lapses within the warning period or the widest reminder, or was never recorded: missing and
    lapsed first, then by the day it lapses."""
    horizon = max([TRAINING_WARNING_DAYS, *settings.TRAINING_REMINDER_DAYS])
    people = (
        User.objects.filter(is_active=True)
        .annotate(
            habilitation_count=Count(
                "habilitations",
                filter=Q(
                    habilitations__revoked_at__isnull=True, habilitations__valid_until__gte=day
                ),
            )
        )
        .filter(habilitation_count__gt=0)
        .select_related("service")
        .prefetch_related("trainings__recorded_by")
    )
    rows = []
    for person in people:
        latest = max(
            (t for t in person.trainings.all() if t.held_on <= day),
            key=lambda t: (t.held_on, t.pk),
            default=None,
        )
        held_on = latest.held_on if latest else None
        state = training_state(held_on, day)
        expires_on = training_expires_on(held_on)
        if state == TrainingState.VALID and (
            expires_on is None or expires_on > day + timedelta(days=horizon)
        ):
            continue
        rows.append(
            TrainingToRenew(
                person=person,
                training=latest,
                expires_on=expires_on,
                state=state,
                days_left=(expires_on - day).days if expires_on else None,
                habilitations=person.habilitation_count,  # type: ignore[attr-defined]
            )
        )
    return sorted(
        rows,
        key=lambda r: (
            r.expires_on is not None,
            r.expires_on or day,
            r.person.last_name,
            r.person.username,
        ),
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
