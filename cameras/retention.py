"""Changes of a camera's retention, so that none destroys footage earlier than announced.

A raise applies at once: it destroys nothing. A lowering is only a request until the DPO
validates it, and then applies to the footage recorded after the validation: footage recorded
before keeps the longer retention in force when it was recorded. No retention below
``settings.MIN_RETENTION_DAYS`` is accepted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.models import User
from audit.services import record
from cameras.models import LEGAL_MAX_RETENTION_DAYS, Camera, RetentionChange
from cameras.roles import RETENTION_DECIDERS, RETENTION_REQUESTERS

#: A segment never lasts longer than this (recordings' RECORDING_SEGMENT_SECONDS is at most 600).
_LONGEST_SEGMENT = timedelta(minutes=10)


class RetentionChangeClosed(Exception):
    """The change was already decided."""


def check_minimum(days: int) -> None:
    """Refuse a retention below the installation's minimum (CSU_MIN_RETENTION_DAYS)."""
    minimum = settings.MIN_RETENTION_DAYS
    if days < minimum:
        raise ValidationError(
            {
                "retention_days": _(
                    "La conservation ne peut être inférieure à %(days)s jours, le minimum fixé "
                    "pour cette installation."
                )
                % {"days": minimum}
            }
        )


def pending_change(camera: Camera) -> RetentionChange | None:
    return camera.retention_changes.filter(state=RetentionChange.State.PENDING).first()


def check_change(camera: Camera, new_days: int) -> None:
    """Refuse a change of ``camera``'s retention to ``new_days`` that cannot be accepted."""
    check_minimum(new_days)
    if pending_change(camera) is not None:
        raise ValidationError(
            {
                "retention_days": _(
                    "Une réduction de la durée de conservation est en attente de validation par "
                    "le DPO : attendez sa décision avant d'en demander une autre."
                )
            }
        )


def retention_change_request(
    *, camera: Camera, new_days: int, actor: Actor, reason: str = ""
) -> RetentionChange:
    """Ask for ``camera``'s retention to be lowered to ``new_days``: pending until the DPO
    decides. Runs inside the caller's transaction (cameras.services.camera_update)."""
    if not isinstance(actor, User) or actor.role not in RETENTION_REQUESTERS:
        raise PermissionDenied(_("Seul un gestionnaire du registre peut demander ce changement."))
    if new_days >= camera.retention_days:
        raise ValueError("a retention change request lowers the retention")
    check_change(camera, new_days)
    try:
        with transaction.atomic():
            change = RetentionChange.objects.create(
                camera=camera,
                old_days=camera.retention_days,
                new_days=new_days,
                reason=reason.strip(),
                requested_by=actor,
            )
    except IntegrityError:  # one_pending_retention_change: another request won the race
        raise ValidationError(
            {
                "retention_days": _(
                    "Une réduction de la durée de conservation est en attente de validation par "
                    "le DPO : attendez sa décision avant d'en demander une autre."
                )
            }
        ) from None
    record(
        "camera.retention_change_requested",
        actor=actor,
        target=camera,
        reason=change.reason,
        details={"change": change.pk, "old_days": change.old_days, "new_days": change.new_days},
    )
    return change


def _decide(change: RetentionChange, actor: Actor) -> tuple[RetentionChange, Camera]:
    if not isinstance(actor, User) or actor.role not in RETENTION_DECIDERS:
        raise PermissionDenied(_("Seul le DPO décide d'une réduction de la durée de conservation."))
    locked = RetentionChange.objects.select_for_update().get(pk=change.pk)
    if locked.state != RetentionChange.State.PENDING:
        raise RetentionChangeClosed(_("Cette demande a déjà été traitée."))
    camera = Camera.objects.select_for_update().get(pk=locked.camera_id)
    return locked, camera


def _close(
    change: RetentionChange,
    camera: Camera,
    actor: Actor,
    state: str,
    note: str,
    now: datetime,
) -> None:
    change.state = state
    change.decided_by = actor  # type: ignore[assignment]
    change.decided_at = now
    change.decision_note = note.strip()
    change.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])


def _record_decision(
    code: str, change: RetentionChange, camera: Camera, actor: Actor, **details: Any
) -> None:
    record(
        code,
        actor=actor,
        target=camera,
        reason=change.decision_note,
        details={
            "change": change.pk,
            "old_days": change.old_days,
            "new_days": change.new_days,
            "requested_by": change.requested_by.get_username(),
            **details,
        },
    )


@transaction.atomic
def retention_change_validate(
    *, change: RetentionChange, actor: Actor, note: str = ""
) -> RetentionChange:
    """The DPO validates a lowering: in force from now on, for the footage recorded from now."""
    change, camera = _decide(change, actor)
    if camera.retention_days != change.old_days:
        # Only a validated change alters a lowering's starting point; a raise is refused while
        # one is pending (check_change), so this is a programming error.
        raise ValidationError(
            _("La durée de conservation de la caméra a changé depuis la demande.")
        )
    check_minimum(change.new_days)
    now = timezone.now()
    _close(change, camera, actor, RetentionChange.State.VALIDATED, note, now)
    Camera.objects.filter(pk=camera.pk).update(retention_days=change.new_days, updated_at=now)
    _record_decision("camera.retention_change_validated", change, camera, actor, in_force_from=now)
    return change


@transaction.atomic
def retention_change_refuse(*, change: RetentionChange, actor: Actor, note: str) -> RetentionChange:
    """The DPO refuses a lowering, saying why: the camera keeps its retention."""
    if not note.strip():
        raise ValidationError(
            {"note": _("Indiquez le motif du refus : il est communiqué au demandeur.")}
        )
    change, camera = _decide(change, actor)
    _close(change, camera, actor, RetentionChange.State.REFUSED, note, timezone.now())
    _record_decision("camera.retention_change_refused", change, camera, actor)
    return change


# --- The retention each period of footage is kept under -----------------------------------


@dataclass(frozen=True)
class Period:
    """Footage that started in [start, end) (None: unbounded) is kept ``days`` days."""

    start: datetime | None
    end: datetime | None
    days: int


def periods_from(current_days: int, lowerings: Iterable[tuple[datetime, int]]) -> list[Period]:
    """The retention of each period of a camera's footage, oldest period first.

    ``lowerings`` are the camera's validated lowerings, each (validated at, days before it).
    Footage started before a lowering keeps the days in force before it; a later raise (which
    applies to every footage at once) or an earlier, longer retention still counts, hence the
    maximum over the lowerings that follow.
    """
    ordered = sorted(lowerings)
    periods: list[Period] = []
    days = current_days
    end: datetime | None = None
    for validated_at, old_days in reversed(ordered):
        periods.append(Period(validated_at, end, days))
        days = max(days, old_days)
        end = validated_at
    periods.append(Period(None, end, days))
    periods.reverse()
    return periods


def retention_periods(cameras: dict[int, int], as_of: datetime) -> dict[int, list[Period]]:
    """For each camera (pk → retention in force), the periods of its footage with their
    retention at ``as_of``: one query for every camera.

    A lowering validated more than the legal maximum before ``as_of`` no longer matters: all
    the footage recorded before it is past any retention, so it is left out.
    """
    horizon = as_of - timedelta(days=LEGAL_MAX_RETENTION_DAYS) - _LONGEST_SEGMENT
    lowerings: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for camera_id, decided_at, old_days in RetentionChange.objects.filter(
        state=RetentionChange.State.VALIDATED, decided_at__gt=horizon, camera_id__in=list(cameras)
    ).values_list("camera_id", "decided_at", "old_days"):
        if decided_at is not None:  # always set once validated (retention_change_decision_complete)
            lowerings[camera_id].append((decided_at, old_days))
    return {pk: periods_from(days, lowerings.get(pk, ())) for pk, days in cameras.items()}


def segment_retention_days(camera: Camera, started_at: datetime, as_of: datetime) -> int:
    """The retention that footage of ``camera`` started at ``started_at`` is kept under."""
    for period in retention_periods({camera.pk: camera.retention_days}, as_of)[camera.pk]:
        if period.end is None or started_at < period.end:
            return period.days
    raise AssertionError("the last period is unbounded")
