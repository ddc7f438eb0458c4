"""Gel des images: placing and releasing holds, and which holds cover a window.

Later features (requisitions, access requests) call these services; a supervisor places manual
holds with a written justification and a procedure or case reference, for at most
``RECORDINGS_HOLD_MAX_DAYS`` at a time (renewable, with a new justification). A segment
overlapping a hold in force survives the purge; a hold past its end protects nothing.
A hold is a camera × window, not a list of segments: footage of the window indexed after the
hold was placed (the segment being written when a flagrant case is reported) is held as well.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.actors import Actor, person
from audit.services import lock_chain, record
from cameras.models import Camera
from recordings.models import DestructionRecord, Hold, HoldRenewal, Segment


class FootageUnavailable(ValidationError):
    """All the window's footage was destroyed; ``destroyed_at`` and ``entry`` come from the
    register."""

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


def _local(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y H:i")


def indexing_delay() -> timedelta:
    """How long after it was filmed a picture may still be waiting for its segment's index row:
    a segment is indexed when it closes (its full length), once stored (with retries)."""
    return timedelta(seconds=2 * settings.RECORDING_SEGMENT_SECONDS + 60)


@dataclass(frozen=True)
class Destroyed:
    """The part of a window whose footage the purge destroyed, and the register's entries."""

    entries: list[DestructionRecord]
    starts_at: datetime
    ends_at: datetime

    @property
    def latest(self) -> DestructionRecord:
        return self.entries[0]

    def cited(self) -> str:
        return ", ".join(str(entry.pk) for entry in sorted(self.entries, key=lambda e: e.pk))


def destroyed_part(camera: Camera, starts_at: datetime, ends_at: datetime) -> Destroyed | None:
    """What the register says was destroyed of ``camera``'s footage over [starts_at, ends_at).

    Found from the destroyed segments' rows (each carries its entry's ``destroyed_at``); for
    footage whose rows are gone, from the entries whose window overlaps. None if nothing was.
    """
    overlap = {"camera": camera, "started_at__lt": ends_at, "ended_at__gt": starts_at}
    gone = Segment.objects.filter(state=Segment.State.DESTROYED, **overlap).aggregate(
        first=Min("started_at"), last=Max("ended_at")
    )
    registered = DestructionRecord.objects.filter(camera=camera, segment_count__gt=0)
    if gone["first"] is not None:
        instants = Segment.objects.filter(state=Segment.State.DESTROYED, **overlap).values(
            "destroyed_at"
        )
        entries = list(registered.filter(destroyed_at__in=instants).order_by("-destroyed_at"))
        first, last = gone["first"], gone["last"]
    else:
        entries = list(
            registered.filter(window_start__lt=ends_at, window_end__gt=starts_at).order_by(
                "-destroyed_at"
            )
        )
        first = min((e.window_start for e in entries if e.window_start), default=starts_at)
        last = max((e.window_end for e in entries if e.window_end), default=ends_at)
    if not entries:
        return None
    return Destroyed(entries, max(first, starts_at), min(last, ends_at))


def _refuse_destroyed(camera: Camera, destroyed: Destroyed) -> None:
    """None of the window's footage is left: say when the register shows it was destroyed."""
    entry = destroyed.latest
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


def _footage_note(
    camera: Camera,
    starts_at: datetime,
    ends_at: datetime,
    *,
    covered: int,
    destroyed: Destroyed | None,
    now: datetime,
) -> str:
    """What the person placing the hold must know of the footage it holds ("" if all exists)."""
    if destroyed is not None:
        return _(
            "Une partie des images de la caméra %(camera)s sur cette période, du %(start)s au "
            "%(end)s, a été détruite le %(date)s à l'expiration de sa durée de conservation "
            "(registre des destructions, entrée n° %(entries)s) ; le reste est gelé."
        ) % {
            "camera": camera.code,
            "start": _local(destroyed.starts_at),
            "end": _local(destroyed.ends_at),
            "date": _local(destroyed.latest.destroyed_at),
            "entries": destroyed.cited(),
        }
    if covered:
        return ""
    if ends_at > now - indexing_delay():
        return _(
            "Au %(at)s, les images de la caméra %(camera)s sur cette période étaient encore en "
            "cours d'enregistrement (aucun segment indexé) : le gel couvre toute la période et "
            "conserve ces images dès leur indexation."
        ) % {"camera": camera.code, "at": _local(now)}
    return _(
        "Au %(at)s, aucun enregistrement de la caméra %(camera)s n'était indexé entre le "
        "%(start)s et le %(end)s (caméra ou enregistreur interrompu ?) : le gel couvre la période "
        "et conservera tout segment qui y serait encore indexé."
    ) % {
        "camera": camera.code,
        "at": _local(now),
        "start": _local(starts_at),
        "end": _local(ends_at),
    }


def _check_manual(*, justification: str, case_reference: str) -> None:
    errors = {}
    if not justification.strip():
        errors["justification"] = _("Un gel manuel exige une justification écrite.")
    if not case_reference.strip():
        errors["case_reference"] = _(
            "Un gel manuel exige la référence de la procédure ou du dossier qu'il sert "
            "(numéro de procès-verbal, de procédure ou de main courante)."
        )
    if errors:
        raise ValidationError(errors, code="manual")


def manual_end_limit(now: datetime | None = None) -> datetime:
    """The latest end a manual hold placed or renewed at ``now`` may have."""
    return (now or timezone.now()) + timedelta(days=settings.RECORDINGS_HOLD_MAX_DAYS)


def _check_manual_end(expires_at: datetime, now: datetime) -> None:
    limit = manual_end_limit(now)
    if expires_at > limit:
        raise ValidationError(
            {
                "expires_at": _(
                    "Un gel manuel dure au plus %(days)s jours : son échéance ne peut pas "
                    "dépasser le %(limit)s. Renouvelez-le ensuite, avec une nouvelle "
                    "justification, s'il doit durer."
                )
                % {"days": settings.RECORDINGS_HOLD_MAX_DAYS, "limit": _local(limit)}
            },
            code="too_long",
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
    actor: Actor,
    reference_type: str = "",
    reference_id: str = "",
    reference_label: str = "",
    justification: str = "",
    case_reference: str = "",
) -> Hold:
    """Freeze the footage of ``camera`` over [starts_at, ends_at) until release or expiry.

    A hold is a camera × window: it keeps whatever of the window is stored now and every
    segment indexed for it later (footage still being written). Refused (FootageUnavailable)
    only when none of that footage is left because the purge destroyed it, citing the register;
    refused (ValidationError) for a window that ends in the future. The returned hold carries
    ``footage_note`` (what the person must know: part destroyed, nothing indexed yet; "" when
    everything is there) and ``destruction`` (the register's latest entry for a destroyed part).
    The covered segments are locked while the hold is written, so a purge running at the same
    instant either destroyed them before (refusal or note) or skips them.
    """
    if ends_at <= starts_at:
        raise ValidationError(
            {"ends_at": _("La fin de la période doit suivre son début.")}, code="window"
        )
    now = timezone.now()
    if ends_at > now:
        raise ValidationError(
            {
                "ends_at": _(
                    "La période se termine dans le futur (%(end)s) : un gel ne porte que sur "
                    "des images déjà filmées ; placez-le une fois la période écoulée."
                )
                % {"end": _local(ends_at)}
            },
            code="future",
        )
    if expires_at <= now:
        raise ValidationError(
            {"expires_at": _("L'échéance du gel doit être dans le futur.")}, code="expiry"
        )
    if basis == Hold.Basis.MANUAL:
        _check_manual(justification=justification, case_reference=case_reference)
        _check_manual_end(expires_at, now)
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
    destroyed = destroyed_part(camera, starts_at, ends_at)
    if not covered and destroyed is not None:
        _refuse_destroyed(camera, destroyed)
    note = _footage_note(
        camera, starts_at, ends_at, covered=len(covered), destroyed=destroyed, now=now
    )
    user = person(actor)
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
        case_reference=case_reference.strip(),
        created_by=user,
        created_by_name=user.get_username() if user else str(actor),
        expires_at=expires_at,
    )
    hold.full_clean()
    hold.save()
    hold.footage_note = note
    hold.destruction = destroyed.latest if destroyed else None
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
            "case_reference": hold.case_reference,
            "expires_at": expires_at,
            "segments": len(covered),
            "destruction_entries": sorted(e.pk for e in destroyed.entries) if destroyed else [],
            "note": note,
        },
    )
    return hold


@transaction.atomic
def hold_release(*, hold: Hold, reason: str, actor: Actor) -> Hold:
    """Lift the hold; its segments fall back under the ordinary retention. Released once."""
    if not reason.strip():
        raise ValidationError({"reason": _("Indiquez le motif de la levée.")}, code="reason")
    now = timezone.now()
    user = person(actor)
    name = user.get_username() if user else str(actor)
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


@transaction.atomic
def hold_renew(*, hold: Hold, expires_at: datetime, justification: str, actor: Actor) -> Hold:
    """Move the end of a hold in force later, with a new written justification; audited.

    A manual hold's new end is at most ``RECORDINGS_HOLD_MAX_DAYS`` from now. A hold already
    ended (released, or past its end: its footage may be gone) is not renewed: place a new one.
    """
    errors = {}
    if not justification.strip():
        errors["justification"] = _("Indiquez la justification du renouvellement.")
    now = timezone.now()
    if expires_at <= hold.expires_at:
        errors["expires_at"] = _(
            "La nouvelle échéance doit suivre l'échéance actuelle du gel (%(end)s)."
        ) % {"end": _local(hold.expires_at)}
    if errors:
        raise ValidationError(errors, code="renewal")
    if hold.basis == Hold.Basis.MANUAL:
        _check_manual_end(expires_at, now)
    lock_chain()
    user = person(actor)
    name = (user.get_username() if user else str(actor))[:300]
    previous = hold.expires_at
    updated = Hold.objects.filter(
        pk=hold.pk, released_at__isnull=True, expires_at=previous, expires_at__gt=now
    ).update(expires_at=expires_at)
    if not updated:
        hold.refresh_from_db()
        if hold.released_at is not None:
            message = _("Ce gel a été levé : placez un nouveau gel.")
        elif hold.expires_at <= now:
            message = _(
                "Ce gel a pris fin le %(end)s : il ne protège plus ces images, placez un "
                "nouveau gel."
            ) % {"end": _local(hold.expires_at)}
        else:
            message = _("Ce gel a été renouvelé entre-temps : vérifiez sa nouvelle échéance.")
        raise ValidationError(message, code="ended")
    renewal = HoldRenewal.objects.create(
        hold=hold,
        renewed_at=now,
        renewed_by_name=name,
        previous_expires_at=previous,
        expires_at=expires_at,
        justification=justification.strip(),
    )
    hold.refresh_from_db()
    record(
        "recording.hold_renewed",
        actor=actor,
        target=hold.camera,
        reason=renewal.justification,
        details={
            "hold": hold.pk,
            "renewal": renewal.pk,
            "starts_at": hold.starts_at,
            "ends_at": hold.ends_at,
            "basis": hold.basis,
            "reference_type": hold.reference_type,
            "reference_id": hold.reference_id,
            "case_reference": hold.case_reference,
            "previous_expires_at": previous,
            "expires_at": expires_at,
        },
    )
    return hold


def hold_list(*, camera: Camera | None = None, only_active: bool = False) -> QuerySet[Hold]:
    holds = Hold.objects.select_related("camera", "created_by").prefetch_related("renewals")
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
