"""Gel des images: placing and releasing holds, and which holds cover a window.

Later features (requisitions, access requests) call these services; a supervisor places manual
holds with a written justification. A segment overlapping an active hold survives the purge.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from audit.services import lock_chain, record
from cameras.models import Camera
from recordings.models import DestructionRecord, Hold, Segment


class FootageUnavailable(ValidationError):
    """No footage left to freeze; ``destroyed_at`` and ``entry`` come from the register."""

    def __init__(
        self, message: str, *, code: str, params: dict[str, Any], entry: DestructionRecord | None
    ) -> None:
        super().__init__(message, code=code, params=params)
        self.entry = entry
        self.destroyed_at = entry.destroyed_at if entry else None


def active(at: datetime | None = None) -> Q:
    """Holds in force at ``at``: not released, not expired."""
    return Q(released_at__isnull=True, expires_at__gt=at or timezone.now())


def holds_covering(
    *, camera: Camera, starts_at: datetime, ends_at: datetime, at: datetime | None = None
) -> QuerySet[Hold]:
    """The holds in force at ``at`` whose window overlaps [starts_at, ends_at)."""
    return Hold.objects.filter(
        active(at), camera=camera, starts_at__lt=ends_at, ends_at__gt=starts_at
    )


def held_segments(at: datetime | None = None) -> Exists:
    """An expression, true for a segment that a hold in force at ``at`` covers."""
    return Exists(
        Hold.objects.filter(
            active(at),
            camera=OuterRef("camera"),
            starts_at__lt=OuterRef("ended_at"),
            ends_at__gt=OuterRef("started_at"),
        )
    )


def segment_is_held(segment: Segment, at: datetime | None = None) -> bool:
    return holds_covering(
        camera=segment.camera, starts_at=segment.started_at, ends_at=segment.ended_at, at=at
    ).exists()


def _local(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y H:i")


def _refuse_missing_footage(camera: Camera, starts_at: datetime, ends_at: datetime) -> None:
    """Nothing is left to freeze: say when the register shows it was destroyed, if it was."""
    entry = (
        DestructionRecord.objects.filter(
            camera=camera,
            segment_count__gt=0,
            window_start__lt=ends_at,
            window_end__gt=starts_at,
        )
        .order_by("-destroyed_at")
        .first()
    )
    if entry is not None:
        raise FootageUnavailable(
            _(
                "Les images de la caméra %(camera)s sur cette période ont été détruites le "
                "%(date)s à l'expiration de leur durée de conservation (registre des "
                "destructions, entrée n° %(entry)s) : elles ne peuvent plus être gelées."
            ),
            params={"camera": camera.code, "date": _local(entry.destroyed_at), "entry": entry.pk},
            code="destroyed",
            entry=entry,
        )
    raise FootageUnavailable(
        _(
            "Aucun enregistrement de la caméra %(camera)s n'existe entre le %(start)s et le "
            "%(end)s : il n'y a rien à geler."
        ),
        params={"camera": camera.code, "start": _local(starts_at), "end": _local(ends_at)},
        code="no_footage",
        entry=None,
    )


@transaction.atomic
def hold_place(
    *,
    camera: Camera,
    starts_at: datetime,
    ends_at: datetime,
    basis: str,
    reason: str,
    expires_at: datetime,
    actor: Any,
    reference_type: str = "",
    reference_id: str = "",
    reference_label: str = "",
    justification: str = "",
) -> Hold:
    """Freeze the footage of ``camera`` over [starts_at, ends_at) until release or expiry.

    Refused (ValidationError) when none of that footage exists any more, with the destruction
    date from the register. The covered segments are locked while the hold is written, so a
    purge running at the same instant either destroyed them before (refusal) or skips them.
    """
    if ends_at <= starts_at:
        raise ValidationError(
            {"ends_at": _("La fin de la période doit suivre son début.")}, code="window"
        )
    now = timezone.now()
    if expires_at <= now:
        raise ValidationError(
            {"expires_at": _("L'échéance du gel doit être dans le futur.")}, code="expiry"
        )
    if basis == Hold.Basis.MANUAL and not justification.strip():
        raise ValidationError(
            {"justification": _("Un gel manuel exige une justification écrite.")},
            code="justification",
        )
    if basis != Hold.Basis.MANUAL and not reference_id.strip():
        raise ValidationError(
            {"reference_id": _("Indiquez la réquisition ou la demande d'accès concernée.")},
            code="reference",
        )
    lock_chain()  # before the segments' row locks: the order every audited writer follows
    covered = list(
        Segment.objects.select_for_update()
        .filter(
            camera=camera,
            state=Segment.State.STORED,
            started_at__lt=ends_at,
            ended_at__gt=starts_at,
        )
        .values_list("pk", flat=True)
    )
    if not covered:
        _refuse_missing_footage(camera, starts_at, ends_at)
    is_user = getattr(actor, "is_authenticated", False)
    hold = Hold(
        camera=camera,
        starts_at=starts_at,
        ends_at=ends_at,
        basis=basis,
        reason=reason.strip(),
        reference_type=reference_type,
        reference_id=reference_id.strip(),
        reference_label=reference_label.strip(),
        justification=justification.strip(),
        created_by=actor if is_user else None,
        created_by_name=actor.get_username() if is_user else str(actor),
        expires_at=expires_at,
    )
    hold.full_clean()
    hold.save()
    record(
        "recording.hold_placed",
        actor=actor,
        target=camera,
        reason=hold.reason,
        details={
            "hold": hold.pk,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "basis": basis,
            "reference_type": hold.reference_type,
            "reference_id": hold.reference_id,
            "justification": hold.justification,
            "expires_at": expires_at,
            "segments": len(covered),
        },
    )
    return hold


@transaction.atomic
def hold_release(*, hold: Hold, reason: str, actor: Any) -> Hold:
    """Lift the hold; its segments fall back under the ordinary retention. Released once."""
    if not reason.strip():
        raise ValidationError({"reason": _("Indiquez le motif de la levée.")}, code="reason")
    now = timezone.now()
    name = actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor)
    updated = Hold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=now, released_by_name=name[:300], release_reason=reason.strip()[:300]
    )
    if not updated:
        raise ValidationError(_("Ce gel a déjà été levé."), code="already_released")
    hold.refresh_from_db()
    record(
        "recording.hold_released",
        actor=actor,
        target=hold.camera,
        reason=hold.release_reason,
        details={
            "hold": hold.pk,
            "starts_at": hold.starts_at,
            "ends_at": hold.ends_at,
            "reference_type": hold.reference_type,
            "reference_id": hold.reference_id,
        },
    )
    return hold


def hold_list(*, camera: Camera | None = None, only_active: bool = False) -> QuerySet[Hold]:
    holds = Hold.objects.select_related("camera", "created_by")
    if camera is not None:
        holds = holds.filter(camera=camera)
    if only_active:
        holds = holds.filter(active())
    return holds.order_by("-created_at", "-pk")


# --- What a hold may say about the record it serves ---------------------------------------------

#: reference_type → readable(user, reference ids) → the ids ``user`` may read. The app that owns
#: the referenced records registers its own scoping at start (evidence: its requisitions), so
#: that this app, below it, names none of them.
_REFERENCE_READERS: dict[str, Callable[[Any, Collection[str]], set[str]]] = {}


def register_reference_reader(
    reference_type: str, readable: Callable[[Any, Collection[str]], set[str]]
) -> None:
    _REFERENCE_READERS[reference_type] = readable


def withhold_references(user: Any, rows: Iterable[Hold]) -> list[Hold]:
    """``rows`` with ``reference_withheld`` set on each: true where ``user`` may not read the
    record the hold serves, whose reason, label, justification and release reason then stay
    unsaid (a pending requisition's procedure number, to a supervisor). One query per kind."""
    rows = list(rows)
    wanted: dict[str, set[str]] = {}
    for hold in rows:
        if hold.reference_type in _REFERENCE_READERS and hold.reference_id:
            wanted.setdefault(hold.reference_type, set()).add(hold.reference_id)
    readable = {kind: _REFERENCE_READERS[kind](user, ids) for kind, ids in wanted.items()}
    for hold in rows:
        hold.reference_withheld = (
            hold.reference_type in readable
            and hold.reference_id not in readable[hold.reference_type]
        )
    return rows
