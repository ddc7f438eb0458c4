"""Writes of the room's operations: shifts, rota, signalements. Each writes its audit event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import record
from cameras.codes import resolve_codes
from cameras.models import Camera
from cameras.purposes import Purpose, purpose_label
from csu.lib.times import paris_text
from evidence import selectors as evidence_selectors
from evidence.models import Requisition
from operations import rota
from operations.models import (
    CATEGORY_PURPOSE,
    Alarm,
    AlarmState,
    AlertedService,
    Category,
    FollowUpNote,
    Outcome,
    RequisitionLink,
    RotaSlot,
    ServiceAlert,
    Shift,
    Signalement,
    SignalementCounter,
    format_number,
)
from operations.roles import REQUISITION_LINKERS, ROOM_MANAGERS, ROOM_STAFF
from operations.selectors import parse_number

#: Clocks drift: a time this far ahead of the server's is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=5)


def _local(moment: datetime) -> str:
    return paris_text(moment, seconds=False)


#: A signalement is logged during or soon after the facts: older than this is a typing error.
OLDEST_FACTS = timedelta(days=2 * 366)


def _not_in_future(moment: datetime, field: str, label: str) -> None:
    """Plausible for the log: not in the future, and not years in the past."""
    now = timezone.now()
    if moment > now + CLOCK_SKEW:
        raise ValidationError(
            {field: _("%(label)s ne peut pas être dans le futur.") % {"label": label}}
        )
    if moment < now - OLDEST_FACTS:
        raise ValidationError(
            {
                field: _("%(label)s remonte à plus de deux ans : vérifiez la date.")
                % {"label": label}
            }
        )


# --- Shifts -------------------------------------------------------------------------------------


def _lock_person(person: User) -> None:
    """Hold the person's row until the transaction ends: two writers of the same person's
    periods queue, so that each sees what the other wrote before checking overlaps."""
    User.objects.select_for_update().filter(pk=person.pk).exists()


def _refuse_overlapping_shift(
    operator: User,
    start: datetime,
    end: datetime | None,
    exclude: int | None = None,
    field: str | None = None,
) -> None:
    """ValidationError when ``operator`` has another shift over [start, end) (open: no end)."""
    others = Shift.objects.filter(operator=operator)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    others = others.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    if end is not None:
        others = others.filter(started_at__lt=end)
    other = others.order_by("started_at").first()
    if other is not None:
        message = _(
            "%(who)s a déjà une vacation sur cette période (du %(start)s au %(end)s) : "
            "deux vacations d'une même personne ne se chevauchent pas."
        ) % {
            "who": operator,
            "start": _local(other.started_at),
            "end": _local(other.ended_at) if other.ended_at else _("en cours"),
        }
        raise ValidationError({field: message} if field else message)


@transaction.atomic
def shift_clock_in(*, operator: User, at: datetime | None = None) -> Shift:
    """Open a shift for ``operator``; refused when one is already open."""
    if not operator.has_role(*ROOM_STAFF):
        raise ValidationError(_("Seuls les opérateurs et chefs de salle prennent leur service."))
    at = at or timezone.now()
    _lock_person(operator)
    current = Shift.objects.filter(operator=operator, ended_at__isnull=True).first()
    if current:
        raise ValidationError(
            _("Vous êtes déjà en service depuis le %(since)s.")
            % {"since": _local(current.started_at)}
        )
    _refuse_overlapping_shift(operator, at, None)
    shift = Shift(operator=operator, started_at=at)
    shift.full_clean()
    try:
        with transaction.atomic():
            shift.save()
    except IntegrityError:  # a second clock-in at the same instant (PostgreSQL)
        raise ValidationError(_("Vous êtes déjà en service.")) from None
    record("shift.clocked_in", actor=operator, target=shift)
    return shift


@transaction.atomic
def shift_clock_out(*, operator: User, at: datetime | None = None) -> Shift:
    """Close ``operator``'s open shift."""
    at = at or timezone.now()
    shift = (
        Shift.objects.select_for_update().filter(operator=operator, ended_at__isnull=True).first()
    )
    if shift is None:
        raise ValidationError(_("Vous n'êtes pas en service : aucune vacation à clore."))
    if at <= shift.started_at:
        raise ValidationError(_("La fin de service doit suivre la prise de service."))
    shift.ended_at = at
    shift.full_clean()
    shift.save(update_fields=["ended_at"])
    record("shift.clocked_out", actor=operator, target=shift)
    return shift


@transaction.atomic
def shift_close_forgotten(*, shift: Shift, ended_at: datetime, reason: str, actor: User) -> Shift:
    """A supervisor closes a shift whose clock-out was forgotten, at the stated time."""
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.ended_at is not None:
        raise ValidationError(_("Cette vacation est déjà close."))
    if not reason:
        errors["reason"] = _("Indiquez le motif de la clôture.")
    if ended_at <= shift.started_at:
        errors["ended_at"] = _(
            "La fin de service doit suivre la prise de service (le %(since)s)."
        ) % {"since": _local(shift.started_at)}
    elif ended_at > timezone.now() + CLOCK_SKEW:
        errors["ended_at"] = _("La fin de service ne peut pas être dans le futur.")
    if errors:
        raise ValidationError(errors)
    if shift.operator is not None:
        _refuse_overlapping_shift(
            shift.operator, shift.started_at, ended_at, exclude=shift.pk, field="ended_at"
        )
    shift.ended_at = ended_at
    shift.closed_by = actor
    shift.close_reason = reason
    shift.full_clean()
    shift.save(update_fields=["ended_at", "closed_by", "close_reason"])
    record(
        "shift.closed_by_supervisor",
        actor=actor,
        target=shift,
        reason=reason,
        details={
            "operator": shift.operator.get_username() if shift.operator else "",
            "ended_at": ended_at,
        },
    )
    return shift


def rota_overlaps(operator: User, starts_at: datetime, ends_at: datetime) -> RotaSlot | None:
    """The first planned slot of ``operator`` that overlaps [starts_at, ends_at), if any."""
    return (
        RotaSlot.objects.filter(operator=operator, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .order_by("starts_at")
        .first()
    )


def overlap_message(slot: RotaSlot) -> str:
    return _(
        "%(who)s est déjà au planning du %(start)s au %(end)s : deux créneaux d'une même "
        "personne ne se chevauchent pas."
    ) % {"who": slot.operator, "start": _local(slot.starts_at), "end": _local(slot.ends_at)}


def _save_slot(slot: RotaSlot) -> None:
    try:
        with transaction.atomic():
            slot.save()
    except IntegrityError:  # the exclusion constraint (PostgreSQL): written meanwhile
        raise ValidationError(
            {
                "starts_at": _(
                    "%(who)s est déjà au planning sur cette période : deux créneaux d'une "
                    "même personne ne se chevauchent pas."
                )
                % {"who": slot.operator}
            }
        ) from None


@transaction.atomic
def rota_slot_add(
    *, operator: User, starts_at: datetime, ends_at: datetime, note: str = "", actor: User
) -> RotaSlot:
    if not operator.has_role(*ROOM_STAFF):
        raise ValidationError(
            {"operator": _("Seuls les opérateurs et chefs de salle figurent au planning.")}
        )
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("La fin du créneau doit suivre son début.")})
    if ends_at - starts_at > timedelta(hours=24):
        raise ValidationError({"ends_at": _("Un créneau dure au plus 24 heures.")})
    _lock_person(operator)
    overlapping = rota_overlaps(operator, starts_at, ends_at)
    if overlapping is not None:
        raise ValidationError({"starts_at": overlap_message(overlapping)})
    slot = RotaSlot(
        operator=operator, starts_at=starts_at, ends_at=ends_at, note=note.strip(), created_by=actor
    )
    slot.full_clean()
    _save_slot(slot)
    record(
        "rota.slot_added",
        actor=actor,
        target=slot,
        details={"operator": operator.get_username(), "starts_at": starts_at, "ends_at": ends_at},
    )
    return slot


@transaction.atomic
def rota_generate(*, plan: rota.Plan, note: str = "", actor: User) -> list[RotaSlot]:
    """Write the planned slots, all or none: refused when a person is not room staff or when
    one planned slot overlaps a slot already on the rota (each conflict named)."""
    if not actor.has_role(*ROOM_MANAGERS):
        raise PermissionDenied(_("Seul le chef de salle établit le planning."))
    outsiders = [str(p) for p in plan.people if not p.has_role(*ROOM_STAFF)]
    if outsiders:
        raise ValidationError(
            {
                "operators": _(
                    "Seuls les opérateurs et chefs de salle figurent au planning : %(who)s."
                )
                % {"who": ", ".join(outsiders)}
            }
        )
    for person in plan.people:
        _lock_person(person)
    planned: dict[int, list[rota.PlannedSlot]] = {}
    for p in plan.slots:
        planned.setdefault(p.person.pk, []).append(p)
    existing = (
        RotaSlot.objects.filter(
            operator__in=plan.people,
            starts_at__lt=max(p.ends_at for p in plan.slots),
            ends_at__gt=min(p.starts_at for p in plan.slots),
        ).select_related("operator")
        if plan.slots
        else RotaSlot.objects.none()
    )
    conflicts = [
        overlap_message(slot)
        for slot in existing
        if any(
            p.starts_at < slot.ends_at and p.ends_at > slot.starts_at
            for p in planned.get(slot.operator_id, [])
        )
    ]
    if conflicts:
        shown = conflicts[:10]
        if len(conflicts) > 10:
            shown.append(_("… et %(n)s autres.") % {"n": len(conflicts) - 10})
        raise ValidationError({NON_FIELD_ERRORS: shown})
    slots = [
        RotaSlot(
            operator=p.person,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            note=(note or "").strip(),
            created_by=actor,
        )
        for p in plan.slots
    ]
    for slot in slots:
        slot.full_clean()
    try:
        with transaction.atomic():
            RotaSlot.objects.bulk_create(slots)
    except IntegrityError:  # the exclusion constraint (PostgreSQL): written meanwhile
        raise ValidationError(
            _("Le planning a changé pendant la création : revoyez l'aperçu.")
        ) from None
    record(
        "rota.generated",
        actor=actor,
        target_type="operations.rotaslot",
        details={
            "first": plan.first.isoformat(),
            "last": plan.last.isoformat(),
            "shifts": [s.label for s in plan.shifts],
            "operators": [p.get_username() for p in plan.people],
            "slots": len(slots),
        },
    )
    return slots


@transaction.atomic
def rota_slot_remove(*, slot: RotaSlot, actor: User) -> None:
    record(
        "rota.slot_removed",
        actor=actor,
        target=slot,
        details={
            "operator": slot.operator.get_username(),
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
        },
    )
    slot.delete()


# --- Signalements -------------------------------------------------------------------------------


def _next_seq(year: int) -> int:
    """The next number of ``year``, taken in the caller's transaction (gap-free).

    The UPDATE locks the counter row until the caller commits, so concurrent writers queue
    (PostgreSQL row lock; SQLite's IMMEDIATE transactions serialize writers already); a
    rolled-back signalement gives its number back.
    """
    counters = SignalementCounter.objects.filter(year=year)
    if not counters.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                SignalementCounter.objects.create(year=year, last=1)
            return 1
        except IntegrityError:  # another writer created the year's counter first
            counters.update(last=F("last") + 1)
    return counters.values_list("last", flat=True).get()


def cameras_from_codes(codes: Iterable[str]) -> list[Camera]:
    """The cameras named by ``codes``, typed loosely (``cam-2`` for ``CAM-002``: see
    cameras.codes); ValidationError naming the unknown ones."""
    cameras, unknown = resolve_codes(codes)
    if unknown:
        raise ValidationError(
            {"cameras": _("Caméra inconnue : %(codes)s.") % {"codes": ", ".join(unknown)}}
        )
    return cameras


def signalement_purpose(*, category: str, purpose: str, cameras: list[Camera]) -> str:
    """The purpose a signalement of ``category`` on ``cameras`` pursues, or ValidationError:
    its category's, or the one named for "autre"; listed by every camera's authorization."""
    purpose = (purpose or "").strip()
    expected = CATEGORY_PURPOSE.get(category)
    if purpose and purpose not in Purpose.values:
        raise ValidationError({"purpose": _("Finalité inconnue : %(code)s.") % {"code": purpose}})
    if expected is not None and purpose and purpose != expected:
        raise ValidationError(
            {
                "purpose": _(
                    "Un signalement « %(category)s » poursuit la finalité « %(purpose)s »."
                )
                % {"category": Category(category).label, "purpose": expected.label}
            }
        )
    if expected is None and category in Category.values and not purpose:
        raise ValidationError(
            {
                "purpose": _(
                    "Pour un signalement « %(category)s », choisissez la finalité poursuivie "
                    "(CSI L251-2)."
                )
                % {"category": Category(category).label}
            }
        )
    purpose = purpose or str(expected or "")
    refusals = [camera.purpose_refusal(purpose) for camera in cameras if purpose]
    refusals = [refusal for refusal in refusals if refusal]
    if refusals:
        raise ValidationError({"cameras": refusals})
    return purpose


@transaction.atomic
def signalement_create(
    *,
    actor: User,
    category: str,
    occurred_at: datetime,
    location: str,
    description: str,
    cameras: Iterable[Camera] = (),
    services: Iterable[str] = (),
    alerted_at: datetime | None = None,
    purpose: str = "",
) -> Signalement:
    """Record a signalement under the next number of the current year, with the CSI L251-2
    purpose its category pursues (named by the operator for "autre"), which the authorization
    of each of its cameras must list."""
    if not actor.has_role(*ROOM_STAFF):
        raise ValidationError(
            _("Seuls les opérateurs et chefs de salle enregistrent un signalement.")
        )
    now = timezone.now()
    _not_in_future(occurred_at, "occurred_at", _("L'heure des faits"))
    cameras = list(cameras)
    services = list(dict.fromkeys(services))
    unknown = [s for s in services if s not in AlertedService.values]
    if unknown:
        raise ValidationError(
            {"services": _("Service inconnu : %(s)s.") % {"s": ", ".join(unknown)}}
        )
    signalement = Signalement(
        year=timezone.localtime(now).year,
        seq=0,
        category=category,
        purpose=(purpose or "").strip(),
        occurred_at=occurred_at,
        location=(location or "").strip(),
        description=(description or "").strip(),
        author=actor,
        created_at=now,
    )
    signalement.full_clean(exclude=["seq"])
    signalement.purpose = purpose = signalement_purpose(
        category=category, purpose=purpose, cameras=cameras
    )
    signalement.seq = _next_seq(signalement.year)
    signalement.save()
    if cameras:
        signalement.cameras.set(cameras)
    for service in services:
        ServiceAlert.objects.create(
            signalement=signalement, service=service, alerted_at=alerted_at or now
        )
    record(
        "signalement.created",
        actor=actor,
        target=signalement,
        reason=_("Finalité : %(purpose)s") % {"purpose": purpose_label(purpose)},
        details={
            "category": category,
            "purpose": purpose,
            "cameras": [c.code for c in cameras],
            "services": services,
        },
    )
    return signalement


@transaction.atomic
def signalement_add_note(*, signalement: Signalement, text: str, actor: User) -> FollowUpNote:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("La note est vide.")})
    note = FollowUpNote(signalement=signalement, author=actor, written_at=timezone.now(), text=text)
    note.full_clean()
    note.save()
    record("signalement.note_added", actor=actor, target=signalement)
    return note


@transaction.atomic
def signalement_alert_service(
    *,
    signalement: Signalement,
    service: str,
    alerted_at: datetime | None,
    arrived_at: datetime | None,
    actor: User,
) -> ServiceAlert | None:
    """Record that a service was alerted, or when it arrived (one line per service).

    None when nothing changes (the service's line already says so): nothing is written."""
    if service not in AlertedService.values:
        raise ValidationError({"service": _("Service inconnu : %(s)s.") % {"s": service}})
    alert = (
        ServiceAlert.objects.select_for_update()
        .filter(signalement=signalement, service=service)
        .first()
    )
    if alert is None:
        alert = ServiceAlert(signalement=signalement, service=service)
    before = (alert.alerted_at, alert.arrived_at)
    alert.alerted_at = alerted_at or alert.alerted_at or timezone.now()
    if alerted_at:
        _not_in_future(alerted_at, "alerted_at", _("L'heure d'alerte"))
    if arrived_at:
        _not_in_future(arrived_at, "arrived_at", _("L'heure d'arrivée"))
        if arrived_at < alert.alerted_at:
            raise ValidationError(
                {
                    "arrived_at": _("L'arrivée ne peut précéder l'alerte (le %(at)s).")
                    % {"at": _local(alert.alerted_at)}
                }
            )
        alert.arrived_at = arrived_at
    created = alert.pk is None
    if not created and (alert.alerted_at, alert.arrived_at) == before:
        return None
    alert.full_clean()
    alert.save()
    record(
        "signalement.service_alerted"
        if created or not arrived_at
        else "signalement.service_arrived",
        actor=actor,
        target=signalement,
        details={
            "service": service,
            "alerted_at": alert.alerted_at,
            "arrived_at": alert.arrived_at,
        },
    )
    return alert


@transaction.atomic
def signalement_service_arrived_now(
    *, signalement: Signalement, service: str, actor: User
) -> ServiceAlert:
    """The alerted ``service`` arrived now (the server's clock); refused when it was not
    alerted or its arrival is already recorded."""
    if service not in AlertedService.values:
        raise ValidationError({"service": _("Service inconnu : %(s)s.") % {"s": service}})
    alert = (
        ServiceAlert.objects.select_for_update()
        .filter(signalement=signalement, service=service)
        .first()
    )
    if alert is None:
        raise ValidationError({"service": _("Ce service n'a pas été alerté pour ce signalement.")})
    if alert.arrived_at is not None:
        raise ValidationError(
            {
                "arrived_at": _("L'arrivée de ce service est déjà enregistrée (le %(at)s).")
                % {"at": _local(alert.arrived_at)}
            }
        )
    # An alert typed a little ahead of the server's clock (CLOCK_SKEW) still precedes arrival.
    arrived = signalement_alert_service(
        signalement=signalement,
        service=service,
        alerted_at=None,
        arrived_at=max(timezone.now(), alert.alerted_at),
        actor=actor,
    )
    assert arrived is not None  # the arrival was not recorded: this call records it
    return arrived


@transaction.atomic
def signalement_close(*, signalement: Signalement, outcome: str, actor: User) -> Signalement:
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choisissez la suite donnée au signalement.")})
    signalement = Signalement.objects.select_for_update().get(pk=signalement.pk)
    if signalement.closed_at:
        raise ValidationError(_("Ce signalement est déjà clos."))
    signalement.outcome = outcome
    signalement.closed_at = timezone.now()
    signalement.full_clean()
    signalement.save(update_fields=["outcome", "closed_at"])
    record("signalement.closed", actor=actor, target=signalement, details={"outcome": outcome})
    return signalement


def signalements_exported(*, count: int, filters: dict, actor: User) -> None:
    """Trace a CSV export (personal data leaves the application)."""
    with transaction.atomic():
        record(
            "signalement.exported",
            actor=actor,
            target_type="operations.signalement",
            details={"count": count, "filters": filters},
        )


# --- Links between signalements and judicial requisitions ----------------------------------------


def signalements_from_numbers(numbers: Iterable[str]) -> list[Signalement]:
    """The signalements named by ``numbers`` (2026-000123), in order; ValidationError naming
    each malformed or unknown number under "signalements"."""
    wanted = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))
    parsed = {n: parse_number(n) for n in wanted}
    malformed = [n for n, key in parsed.items() if key is None]
    keys = [key for key in parsed.values() if key is not None]
    found: dict[tuple[int, int], Signalement] = {}
    if keys:
        query = Q()
        for year, seq in keys:
            query |= Q(year=year, seq=seq)
        found = {(s.year, s.seq): s for s in Signalement.objects.filter(query)}
    unknown = [key for key in keys if key not in found]
    errors = []
    if malformed:
        errors.append(
            _(
                "Numéro de signalement mal écrit : %(numbers)s (attendu : année-numéro, "
                "ex. %(example)s)."
            )
            % {
                "numbers": ", ".join(f"« {n} »" for n in malformed),
                "example": format_number(timezone.localdate().year, 123),
            }
        )
    if unknown:
        errors.append(
            _("Aucun signalement ne porte le numéro %(numbers)s.")
            % {"numbers": ", ".join(format_number(*key) for key in unknown)}
        )
    if errors:
        raise ValidationError({"signalements": errors})
    return [found[key] for key in dict.fromkeys(keys)]


def _check_linker(actor: User, requisition: Requisition) -> None:
    if not actor.has_role(*REQUISITION_LINKERS):
        raise PermissionDenied(
            _(
                "Seuls l'officier requérant et le chef de salle lient une réquisition à un "
                "signalement."
            )
        )
    if not evidence_selectors.restrict(actor).filter(pk=requisition.pk).exists():
        raise Requisition.DoesNotExist


@transaction.atomic
def requisition_link_signalements(
    *, requisition: Requisition, numbers: Iterable[str], actor: User
) -> list[RequisitionLink]:
    """Link the requisition to the signalements named (those already linked are left as they
    are); one audit event per new link, on the requisition's timeline. Requisition.DoesNotExist
    when ``actor`` may not see the requisition; PermissionDenied for a role that may not link."""
    _check_linker(actor, requisition)
    signalements = signalements_from_numbers(numbers)
    if not signalements:
        raise ValidationError({"signalements": [_("Indiquez au moins un numéro de signalement.")]})
    return _link(requisition, signalements, actor)


def _link(
    requisition: Requisition, signalements: list[Signalement], actor: User
) -> list[RequisitionLink]:
    already = set(
        RequisitionLink.objects.filter(
            requisition=requisition, signalement__in=signalements
        ).values_list("signalement_id", flat=True)
    )
    now = timezone.now()
    created = []
    for signalement in signalements:
        if signalement.pk in already:
            continue
        link = RequisitionLink(
            signalement=signalement, requisition=requisition, linked_by=actor, linked_at=now
        )
        link.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:  # the same link made at the same instant by someone else
            continue
        record(
            "requisition.signalement_linked",
            actor=actor,
            target=requisition,
            details={"signalement": signalement.number, "requisition": requisition.reference},
        )
        created.append(link)
    return created


@transaction.atomic
def requisition_unlink_signalement(
    *, requisition: Requisition, signalement: Signalement, actor: User, reason: str = ""
) -> None:
    """Remove the link (audited on the requisition's timeline); ValidationError if none."""
    _check_linker(actor, requisition)
    deleted, _rows = RequisitionLink.objects.filter(
        requisition=requisition, signalement=signalement
    ).delete()
    if not deleted:
        raise ValidationError(
            _("Le signalement %(number)s n'est pas lié à la réquisition %(ref)s.")
            % {"number": signalement.number, "ref": requisition.reference}
        )
    record(
        "requisition.signalement_unlinked",
        actor=actor,
        target=requisition,
        reason=(reason or "").strip(),
        details={"signalement": signalement.number, "requisition": requisition.reference},
    )


def requisition_link_at_intake(
    *, requisition: Requisition, numbers: list[str], actor: User
) -> None:
    """The officer named signalements when submitting: link them in the intake's transaction."""
    _link(requisition, signalements_from_numbers(numbers), actor)


# --- Alarms -------------------------------------------------------------------------------------

#: The longest acknowledgement comment.
ALARM_COMMENT_MAX = 1000


def _alarm_details(alarm: Alarm) -> dict[str, object]:
    return {
        "kind": alarm.kind,
        "priority": alarm.priority,
        "count": alarm.count,
        "camera": alarm.camera.code if alarm.camera else None,
    }


@transaction.atomic
def alarm_acknowledge(*, alarm: Alarm, comment: str, actor: User) -> Alarm:
    """An operator or a supervisor takes an open alarm in hand, saying what is being done."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Indiquez ce qui est fait pour acquitter l'alarme.")})
    if len(comment) > ALARM_COMMENT_MAX:
        raise ValidationError(
            {"comment": _("Le commentaire dépasse %(n)s caractères.") % {"n": ALARM_COMMENT_MAX}}
        )
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if alarm.state == AlarmState.CLOSED:
        raise ValidationError(_("Cette alarme est close : elle ne peut plus être acquittée."))
    if alarm.state == AlarmState.ACKNOWLEDGED:
        raise ValidationError(
            _("Cette alarme a déjà été acquittée par %(who)s.") % {"who": alarm.acknowledged_by}
        )
    alarm.state = AlarmState.ACKNOWLEDGED
    alarm.acknowledged_at = timezone.now()
    alarm.acknowledged_by = actor
    alarm.acknowledgement = comment
    alarm.full_clean()
    alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "acknowledgement"])
    record(
        "alarm.acknowledged",
        actor=actor,
        target=alarm,
        reason=comment,
        details=_alarm_details(alarm),
    )
    return alarm


@transaction.atomic
def alarm_close(*, alarm: Alarm, actor: User, comment: str = "") -> Alarm:
    """A person closes an alarm (the cause is dealt with, or the alarm was not to be raised)."""
    comment = (comment or "").strip()
    if len(comment) > ALARM_COMMENT_MAX:
        raise ValidationError(
            {"comment": _("Le commentaire dépasse %(n)s caractères.") % {"n": ALARM_COMMENT_MAX}}
        )
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if alarm.state == AlarmState.CLOSED:
        raise ValidationError(_("Cette alarme est déjà close."))
    alarm.state = AlarmState.CLOSED
    alarm.closed_at = timezone.now()
    alarm.closed_by = actor
    alarm.full_clean()
    alarm.save(update_fields=["state", "closed_at", "closed_by"])
    record(
        "alarm.closed",
        actor=actor,
        target=alarm,
        reason=comment,
        details=_alarm_details(alarm),
    )
    return alarm
