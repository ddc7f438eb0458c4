"""Writes on requisitions: intake, review, decision, cancellation, export, release, download.

Every state change is a conditional UPDATE on the status (``_move``): two magistrates deciding
at the same instant, or a task run twice, cannot both succeed. Each change writes its audit
event in the same transaction; the requisition's timeline is read back from those events.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from accounts import access
from accounts.actors import Actor, SystemActor
from accounts.models import User
from accounts.roles import Right, Role
from audit import actions as audit_actions
from audit.services import record
from cameras.codes import resolve_each
from cameras.models import Camera
from cameras.purposes import Purpose, purpose_label
from csu.lib.times import paris_text
from evidence import attachments, handover, manifest, notify, packages, related_signalements
from evidence.models import (
    FINISHED,
    GRANTED,
    PENDING,
    Decision,
    DownloadLink,
    Export,
    LegalFrame,
    Requisition,
    Status,
    Window,
    moves_to,
)
from recordings import holds
from recordings.models import Hold

logger = logging.getLogger(__name__)

#: Who acts when the scheduled tasks and the package builder move a requisition.
SYSTEM_ACTOR = SystemActor("evidence.tasks")

#: Status reached by each decision outcome.
OUTCOMES = {
    "approve_all": Status.APPROVED,
    "approve_part": Status.PARTLY_APPROVED,
    "reject": Status.REJECTED,
}
#: The audit action of each status reached.
STATUS_ACTIONS: dict[str, str] = {
    Status.UNDER_REVIEW: "requisition.under_review",
    Status.APPROVED: "requisition.approved",
    Status.PARTLY_APPROVED: "requisition.partly_approved",
    Status.REJECTED: "requisition.rejected",
    Status.EXPORTING: "export.started",
    Status.READY: "export.ready",
    Status.HANDED_OVER: "export.downloaded",
    Status.CLOSED: "requisition.closed",
    Status.CANCELLED: "requisition.cancelled",
    Status.EXPIRED: "requisition.expired",
}


class Conflict(Exception):
    """Someone else changed the requisition first; the message says what it is now."""


class DownloadRefused(Exception):
    """The link cannot be used (other officer, used, expired, revoked); the message says which."""


@dataclass(frozen=True)
class WindowRequest:
    camera_code: str
    starts_at: datetime
    ends_at: datetime


def _local(moment: datetime) -> str:
    return paris_text(moment, seconds=False)


def _refuse(
    action: str, *, actor: Actor, target: Any = None, reason: str, details: dict[str, Any]
) -> None:
    """Audit a refusal in its own transaction: the refused action itself leaves nothing."""
    with transaction.atomic():
        record(action, actor=actor, target=target, reason=reason[:2000], details=details)


# --- Intake -----------------------------------------------------------------------------------


def _check_windows(windows: list[WindowRequest]) -> tuple[list[Camera], list[str]]:
    """The cameras of the windows, and one precise message per bad line."""
    errors: list[str] = []
    cameras: list[Camera] = []
    if not windows:
        return [], [_("Indiquez au moins une caméra et une période.")]
    now = timezone.now()
    limit = timedelta(hours=settings.EVIDENCE_WINDOW_MAX_HOURS)
    # Codes typed loosely (cam-2 for CAM-002) name their camera: see cameras.codes.
    by_code = resolve_each(w.camera_code for w in windows)
    for line, window in enumerate(windows, start=1):
        camera = by_code.get(window.camera_code.strip())
        where = _("Ligne %(n)s (%(camera)s) : ") % {"n": line, "camera": window.camera_code}
        if camera is None:
            errors.append(where + _("cette caméra n'existe pas au registre."))
        elif camera.authorization_id is None:
            errors.append(
                where
                + _(
                    "cette caméra n'est couverte par aucune autorisation préfectorale : "
                    "ses images ne peuvent pas être requises."
                )
            )
        if window.ends_at <= window.starts_at:
            errors.append(where + _("la fin de la période précède son début."))
        elif window.ends_at > now:
            errors.append(
                where
                + _(
                    "la période se termine dans le futur (%(end)s) : seules des images déjà "
                    "enregistrées peuvent être requises."
                )
                % {"end": _local(window.ends_at)}
            )
        elif window.ends_at - window.starts_at > limit:
            errors.append(
                where
                + _("la période dépasse la durée maximale de %(hours)s h : découpez-la.")
                % {"hours": settings.EVIDENCE_WINDOW_MAX_HOURS}
            )
        if camera is not None:
            cameras.append(camera)
    return cameras, errors


def _place_hold(window: Window, requisition: Requisition, actor: Actor) -> None:
    """Freeze the window at once, even while its footage is still being written; note what the
    officer must know (part destroyed: when; nothing indexed yet), or why nothing can be held."""
    try:
        window.hold = holds.hold_place(
            camera=window.camera,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            basis=Hold.Basis.REQUISITION,
            reason=_("Réquisition judiciaire %(ref)s, procédure %(proc)s")
            % {"ref": requisition.reference, "proc": requisition.procedure_number},
            expires_at=timezone.now() + timedelta(days=settings.EVIDENCE_HOLD_DAYS),
            actor=actor,
            reference_type="evidence.requisition",
            reference_id=str(requisition.pk),
            reference_label=requisition.reference,
        )
    except ValidationError as exc:
        window.unavailable = " ".join(exc.messages)
        window.destroyed_at = getattr(exc, "destroyed_at", None)
    else:
        window.unavailable = window.hold.footage_note
        destruction = window.hold.destruction
        window.destroyed_at = destruction.destroyed_at if destruction else None
    window.save(update_fields=["hold", "unavailable", "destroyed_at"])


def _authorization_problem(legal_frame: str, reference: str) -> str:
    """Why ``reference`` cannot be the prosecutor's authorization of a ``legal_frame``
    requisition ("" when it can)."""
    if reference and legal_frame != LegalFrame.PRELIMINAIRE:
        return _(
            "L'autorisation du procureur ne concerne que l'enquête préliminaire (art. 77-1-1 "
            "CPP) : laissez ce champ vide pour un autre cadre juridique."
        )
    if len(reference) > 120:
        return _("La référence de l'autorisation du procureur tient en 120 caractères.")
    return ""


def requisition_submit(
    *,
    procedure_number: str,
    legal_frame: str,
    facts: str,
    justification: str,
    attachment_name: str,
    attachment_data: bytes,
    windows: list[WindowRequest],
    actor: User,
    signalements: Iterable[str] = (),
    prosecutor_authorization: str = "",
) -> Requisition:
    """Record an OPJ's requisition and freeze every requested window that still exists.

    ``signalements``: numbers of the CSU's signalements the requisition concerns (related to it).
    ``prosecutor_authorization``: in a 77-1-1 inquiry, the reference of the prosecutor's
    authorization (empty is accepted, and warned about wherever the requisition is shown).
    ValidationError (field → messages) for bad input, audited, with nothing stored.
    """
    service = actor.service
    if service is None:  # the database refuses an OPJ without a service
        raise ValueError(f"{actor.username} belongs to no service: only OPJs submit requisitions")
    procedure_number = (procedure_number or "").strip()
    errors: dict[str, list[str]] = {}
    if not procedure_number:
        errors["procedure_number"] = [_("Indiquez le numéro de procédure.")]
    elif (
        Requisition.objects.filter(service=service, procedure_number=procedure_number)
        .exclude(status=Status.CANCELLED)
        .exists()
    ):
        errors["procedure_number"] = [
            _(
                "Votre service a déjà déposé une réquisition pour la procédure %(proc)s : "
                "complétez-la plutôt que d'en déposer une seconde."
            )
            % {"proc": procedure_number}
        ]
    if legal_frame not in LegalFrame.values:
        errors["legal_frame"] = [
            _("Choisissez le cadre juridique : art. 60-1, 77-1-1 ou 99-3 CPP.")
        ]
    prosecutor_authorization = (prosecutor_authorization or "").strip()
    if problem := _authorization_problem(legal_frame, prosecutor_authorization):
        errors["prosecutor_authorization"] = [problem]
    if not (facts or "").strip():
        errors["facts"] = [_("Exposez les faits.")]
    if not (justification or "").strip():
        errors["justification"] = [_("Justifiez le besoin des images.")]
    cameras, window_errors = _check_windows(windows)
    if window_errors:
        errors["windows"] = window_errors
    try:
        content_type = attachments.check(attachment_name, attachment_data)
    except ValidationError as exc:
        errors["attachment"] = exc.messages
    numbers = related_signalements.parse(signalements)
    if signalement_errors := related_signalements.check(numbers):
        errors["signalements"] = signalement_errors
    if errors:
        _refuse(
            "requisition.refused_input",
            actor=actor,
            reason="; ".join(m for messages in errors.values() for m in messages),
            details={"procedure_number": procedure_number, "fields": sorted(errors)},
        )
        raise ValidationError(errors)

    stored = attachments.store(attachment_name, attachment_data, content_type)
    try:
        with transaction.atomic():
            now = timezone.now()
            requisition = Requisition(
                procedure_number=procedure_number,
                legal_frame=legal_frame,
                prosecutor_authorization=prosecutor_authorization,
                officer=actor,
                service=service,
                facts=facts.strip(),
                justification=justification.strip(),
                submitted_at=now,
                footage_expires_at=min(
                    w.starts_at + timedelta(days=c.retention_days)
                    for w, c in zip(windows, cameras, strict=True)
                ),
                attachment_name=stored.name,
                attachment_type=stored.content_type,
                attachment_size=stored.size,
                attachment_sha256=stored.sha256,
                attachment_path=stored.path,
                attachment_key_id=stored.key_id,
                attachment_key=stored.wrapped_key,
            )
            requisition.full_clean()
            requisition.save()
            for request, camera in zip(windows, cameras, strict=True):
                window = Window.objects.create(
                    requisition=requisition,
                    camera=camera,
                    starts_at=request.starts_at,
                    ends_at=request.ends_at,
                )
                _place_hold(window, requisition, actor)
            record(
                "requisition.submitted",
                actor=actor,
                target=requisition,
                reason=requisition.justification,
                details={
                    "procedure_number": procedure_number,
                    "legal_frame": legal_frame,
                    "prosecutor_authorization": prosecutor_authorization,
                    "service": service.code,
                    "attachment_sha256": stored.sha256,
                    "windows": [
                        {
                            "camera": w.camera.code,
                            "starts_at": w.starts_at,
                            "ends_at": w.ends_at,
                            "hold": w.hold_id,
                            "unavailable": w.unavailable,
                        }
                        for w in requisition.windows.select_related("camera")
                    ],
                },
            )
            related_signalements.attach(requisition=requisition, numbers=numbers, actor=actor)
    except IntegrityError:  # the same procedure submitted twice at the same instant
        attachments.delete(stored.path)
        raise ValidationError(
            {"procedure_number": [_("Cette procédure vient d'être déposée par votre service.")]}
        ) from None
    except BaseException:
        attachments.delete(stored.path)
        raise
    return requisition


def attachment_open(*, requisition: Requisition, actor: Actor) -> bytes:
    """The scanned requisition in clear, for someone who may see the file; audited."""
    data = attachments.read(
        requisition.attachment_path, requisition.attachment_key_id, requisition.attachment_key
    )
    with transaction.atomic():
        record("requisition.attachment_viewed", actor=actor, target=requisition)
    return data


# --- Status machine -----------------------------------------------------------------------------


def _move(
    requisition: Requisition,
    *,
    to: str,
    actor: Actor,
    from_: Iterable[str] | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    action: str | None = None,
    **fields: Any,
) -> bool:
    """Conditional transition with its audit event; False (nothing written) if the status moved.

    The requisition moves from any status that ``TRANSITIONS`` lets become ``to``, or only from
    ``from_`` when the event allows fewer (an export's failure, not a decision, returns an
    exporting requisition to its decision). ValueError for a move the table does not allow.
    """
    sources: frozenset[str] = moves_to(to)
    if from_ is not None:
        if not set(from_) <= sources:
            raise ValueError(
                f"requisition cannot move from {sorted(set(from_) - sources)} to {to!r}"
            )
        sources = frozenset(from_)
    previous = requisition.status
    updated = Requisition.objects.filter(pk=requisition.pk, status__in=sorted(sources)).update(
        status=to, **fields
    )
    if not updated:
        requisition.refresh_from_db()
        return False
    requisition.refresh_from_db()
    record(
        action or STATUS_ACTIONS[to],
        actor=actor,
        target=requisition,
        reason=reason,
        details={"from": previous, "to": to, **(details or {})},
    )
    if getattr(actor, "pk", None) != requisition.officer_id:
        label = audit_actions.get(action).label if action else Status(to).label
        notify.status_changed(requisition, label)
    return True


def _release_holds(requisition: Requisition, windows: Iterable[Window], actor: Actor, why: str):
    for window in windows:
        if window.hold is not None and window.hold.released_at is None:
            holds.hold_release(hold=window.hold, reason=why, actor=actor)


def _status_label(requisition: Requisition) -> str:
    return str(Status(requisition.status).label)


@transaction.atomic
def requisition_open_review(*, requisition: Requisition, actor: Actor) -> bool:
    """The magistrate says he starts examining a submitted file: it is now under review (once).

    Opening the page is not examining it: only this call, or a decision, moves the status.
    """
    return _move(requisition, to=Status.UNDER_REVIEW, actor=actor)


#: The decision reached by each outcome (it stays when the status moves on).
DECISIONS = {
    "approve_all": Decision.APPROVED,
    "approve_part": Decision.PARTLY_APPROVED,
    "reject": Decision.REJECTED,
}


def _decision_problems(
    requisition: Requisition,
    outcome: str,
    reason: str,
    chosen: set[int],
    shortened: dict[int, tuple[datetime, datetime]],
    windows: dict[int, Window],
) -> dict[str, list[str]]:
    """Field → messages for a decision that cannot be recorded (empty when it can)."""
    if not requisition.is_pending:
        return {
            "__all__": [
                _(
                    "Cette réquisition est à l'état « %(status)s » : elle ne peut plus faire "
                    "l'objet d'une décision."
                )
                % {"status": _status_label(requisition)}
            ]
        }
    if outcome not in OUTCOMES:
        return {
            "outcome": [_("Décision inconnue : autoriser tout, autoriser en partie ou refuser.")]
        }
    errors: dict[str, list[str]] = {}
    if outcome == "reject" and not reason:
        errors["reason"] = [_("Motivez le refus.")]
    if outcome == "approve_part":
        if not chosen:
            errors["windows"] = [_("Choisissez les périodes autorisées.")]
        elif not chosen <= set(windows):
            errors["windows"] = [_("Une période choisie n'appartient pas à cette réquisition.")]
        elif chosen == set(windows) and not shortened:
            errors["windows"] = [
                _("Toutes les périodes sont choisies : autorisez la réquisition entière.")
            ]
        elif len(chosen) < len(windows) and not reason:
            errors["reason"] = [_("Motivez le refus des périodes non cochées.")]
    for pk, (start, end) in shortened.items():
        window = windows.get(pk)
        if window is None:
            errors.setdefault("windows", []).append(
                _("Une période choisie n'appartient pas à cette réquisition.")
            )
            continue
        if outcome == "reject" or (outcome == "approve_part" and pk not in chosen):
            continue
        where = _("Période %(camera)s du %(start)s : ") % {
            "camera": window.camera.code,
            "start": paris_text(window.starts_at),
        }
        if start < window.starts_at or end > window.ends_at:
            errors.setdefault("windows", []).append(
                where
                + _("la partie autorisée doit rester entre %(start)s et %(end)s.")
                % {"start": paris_text(window.starts_at), "end": paris_text(window.ends_at)}
            )
        elif end <= start:
            errors.setdefault("windows", []).append(
                where + _("la fin de la partie autorisée précède son début.")
            )
        elif not reason and "reason" not in errors:
            errors["reason"] = [_("Motivez la réduction des périodes raccourcies.")]
    return errors


def requisition_decide(
    *,
    requisition: Requisition,
    outcome: str,
    reason: str,
    actor: Actor,
    window_ids: Iterable[int] = (),
    shortened: dict[int, tuple[datetime, datetime]] | None = None,
    prosecutor_authorization: str = "",
) -> Requisition:
    """The magistrate's decision: approve all, approve part (some windows), or reject.

    ``shortened``: window id → (start, end) of the part approved, inside the window asked for.
    ``prosecutor_authorization``: in a 77-1-1 inquiry the magistrate, being the prosecutor's
    office, may record the reference of the authorization the officer left empty or mistyped.
    ValidationError (field → messages) for a decision that cannot be recorded: nothing is
    written, not even in the history (an input mistake is not a decision). Conflict when
    another decision was recorded first.
    """
    reason = (reason or "").strip()
    chosen = set(window_ids)
    shortened = dict(shortened or {})
    windows = {w.pk: w for w in requisition.windows.select_related("camera", "hold")}
    errors = _decision_problems(requisition, outcome, reason, chosen, shortened, windows)
    authorization = (prosecutor_authorization or "").strip()
    if problem := _authorization_problem(requisition.legal_frame, authorization):
        errors["prosecutor_authorization"] = [problem]
    if errors:
        raise ValidationError(errors)
    authorization_fields: dict[str, Any] = {}
    authorization_details: dict[str, Any] = {}
    if authorization and authorization != requisition.prosecutor_authorization:
        authorization_fields["prosecutor_authorization"] = authorization
        authorization_details["prosecutor_authorization"] = {
            "from": requisition.prosecutor_authorization,
            "to": authorization,
        }
    approved = (
        set(windows) if outcome == "approve_all" else chosen if outcome == "approve_part" else set()
    )
    parts = {pk: bounds for pk, bounds in shortened.items() if pk in approved}
    if outcome == "approve_all" and parts:
        outcome = "approve_part"  # some footage asked for is not granted: a partial approval
    now = timezone.now()
    with transaction.atomic():
        moved = _move(
            requisition,
            from_=PENDING,
            to=OUTCOMES[outcome],
            actor=actor,
            reason=reason,
            details={
                "decision": DECISIONS[outcome].value,
                "approved_windows": sorted(approved),
                "refused_windows": sorted(set(windows) - approved),
                "shortened_windows": {
                    str(pk): {"start": start, "end": end} for pk, (start, end) in parts.items()
                },
                **authorization_details,
            },
            **authorization_fields,
            decided_by=actor,
            decided_at=now,
            decision_reason=reason,
            decision=DECISIONS[outcome],
        )
        if not moved:
            raise Conflict(
                _(
                    "Une autre décision a été enregistrée entre-temps : la réquisition est "
                    "désormais « %(status)s ». Votre décision n'a pas été prise en compte."
                )
                % {"status": _status_label(requisition)}
            )
        for pk in approved:
            start, end = parts.get(pk, (None, None))
            window = windows[pk]
            window.decision = Window.Decision.APPROVED
            window.approved_starts_at = start if start and start != window.starts_at else None
            window.approved_ends_at = end if end and end != window.ends_at else None
            if window.approved_starts_at or window.approved_ends_at:
                window.approved_starts_at = window.approved_starts_at or window.starts_at
                window.approved_ends_at = window.approved_ends_at or window.ends_at
            window.full_clean()
            window.save(update_fields=["decision", "approved_starts_at", "approved_ends_at"])
        requisition.windows.exclude(pk__in=approved).update(decision=Window.Decision.REFUSED)
        refused = requisition.windows.filter(decision=Window.Decision.REFUSED).select_related(
            "hold"
        )
        _release_holds(
            requisition,
            refused,
            actor,
            _("Refus du magistrat (réquisition %(ref)s)") % {"ref": requisition.reference},
        )
    return requisition


def requisition_cancel(*, requisition: Requisition, reason: str, actor: Actor) -> Requisition:
    """The officer withdraws an undecided requisition; its holds are released."""
    with transaction.atomic():
        if not _move(
            requisition,
            to=Status.CANCELLED,
            actor=actor,
            reason=reason,
            finished_at=timezone.now(),
        ):
            raise ValidationError(
                _("Cette réquisition est à l'état « %(status)s » : elle ne peut plus être annulée.")
                % {"status": _status_label(requisition)}
            )
        _release_holds(
            requisition,
            requisition.windows.select_related("hold"),
            actor,
            _("Réquisition %(ref)s annulée") % {"ref": requisition.reference},
        )
    return requisition


#: A hold of an undecided requisition is renewed when its end comes this close: the task runs
#: hourly, so the footage is never left unheld while the magistrate has not decided.
HOLD_RENEWAL_MARGIN = timedelta(days=7)


def _keep_held(requisition: Requisition, now: datetime) -> int:
    """Renew the holds of an undecided requisition that would end soon; the number renewed."""
    renewed = 0
    soon = now + HOLD_RENEWAL_MARGIN
    for window in requisition.windows.select_related("hold", "hold__camera"):
        hold = window.hold
        if hold is None or hold.released_at is not None or not now < hold.expires_at <= soon:
            continue
        holds.hold_renew(
            hold=hold,
            expires_at=now + timedelta(days=settings.EVIDENCE_HOLD_DAYS),
            justification=_(
                "Réquisition %(ref)s en attente de décision : les images restent gelées "
                "jusqu'à sa décision ou son annulation."
            )
            % {"ref": requisition.reference},
            actor=SYSTEM_ACTOR,
        )
        renewed += 1
    return renewed


def _escalate(requisition: Requisition, now: datetime) -> bool:
    """Tell the magistrates and the supervisors of an undecided requisition past its deadline,
    then remind them every EVIDENCE_REMINDER_DAYS. False when it was not due (or was decided)."""
    first = requisition.escalated_at is None
    due = Requisition.objects.filter(pk=requisition.pk, status__in=PENDING)
    if first:
        updated = due.filter(escalated_at__isnull=True).update(escalated_at=now, reminded_at=now)
    else:
        updated = due.filter(
            reminded_at__lte=now - timedelta(days=settings.EVIDENCE_REMINDER_DAYS)
        ).update(reminded_at=now)
    if not updated:
        return False
    requisition.refresh_from_db()
    waiting = (now - requisition.submitted_at).days
    record(
        "requisition.escalated" if first else "requisition.reminded",
        actor=SYSTEM_ACTOR,
        target=requisition,
        reason=_(
            "Aucune décision depuis %(days)s jours (délai de %(deadline)s jours) : les images "
            "restent gelées jusqu'à la décision ou l'annulation."
        )
        % {"days": waiting, "deadline": settings.EVIDENCE_DECISION_DAYS},
        details={
            "status": requisition.status,
            "submitted_at": requisition.submitted_at,
            "escalated_at": requisition.escalated_at,
            "next_reminder_days": settings.EVIDENCE_REMINDER_DAYS,
        },
    )
    notify.decision_overdue(requisition, days=waiting, first=first)
    return True


def requisitions_escalate_and_close(*, now: datetime | None = None) -> tuple[int, int]:
    """Escalate files left undecided too long; close handed-over ones after the grace period.

    An undecided requisition never expires: past EVIDENCE_DECISION_DAYS the magistrates and the
    supervisors are told, and reminded every EVIDENCE_REMINDER_DAYS; its holds are renewed
    before they end, until it is decided or cancelled. Closing releases the holds. Returns the
    number of requisitions escalated or recalled, and of those closed. Idempotent: each step
    happens once (conditional updates).
    """
    now = now or timezone.now()
    escalated = closed = 0
    for requisition in Requisition.objects.filter(status__in=PENDING):
        with transaction.atomic():
            _keep_held(requisition, now)
            if requisition.submitted_at < now - timedelta(days=settings.EVIDENCE_DECISION_DAYS):
                escalated += _escalate(requisition, now)
    due = Requisition.objects.filter(
        status=Status.HANDED_OVER,
        handed_over_at__lt=now - timedelta(days=settings.EVIDENCE_HANDOVER_GRACE_DAYS),
    )
    for requisition in due:
        with transaction.atomic():
            if _move(
                requisition,
                to=Status.CLOSED,
                actor=SYSTEM_ACTOR,
                reason=_("Remise effectuée, délai de %(days)s jours écoulé.")
                % {"days": settings.EVIDENCE_HANDOVER_GRACE_DAYS},
                finished_at=now,
            ):
                _release_holds(
                    requisition,
                    requisition.windows.select_related("hold"),
                    SYSTEM_ACTOR,
                    _("Réquisition %(ref)s close après remise") % {"ref": requisition.reference},
                )
                closed += 1
        # The delivered package is derived data: it goes once the file is closed.
        if requisition.status == Status.CLOSED:
            for export in _packages_on_disk(requisition.exports.all()):
                _destroy_package(
                    export,
                    reason=_("Réquisition %(ref)s close après remise")
                    % {"ref": requisition.reference},
                    cause="closed",
                    now=now,
                )
    return escalated, closed


# --- Derived files: packages never downloaded, files of dead builds -----------------------------


def _packages_on_disk(exports: Any) -> Any:
    return (
        exports.filter(deleted_at__isnull=True)
        .exclude(package_path="")
        .select_related("requisition")
    )


def _destroy_package(
    export: Export, *, reason: str, cause: str, now: datetime, back_to: str | None = None
) -> bool:
    """Destroy one package: marked gone and audited (its SHA-256, size, requisition), the file
    deleted once that is committed. With ``back_to``, a ready requisition returns to its
    decision (the package was never downloaded) and the export reads "destroyed". False when
    another run (or a download) got there first."""
    requisition = export.requisition
    with transaction.atomic():
        locked = Requisition.objects.select_for_update().get(pk=requisition.pk)
        if back_to is not None and (
            locked.status != Status.READY or export.links.filter(used_at__isnull=False).exists()
        ):
            return False
        fields: dict[str, Any] = {"deleted_at": now}
        if back_to is not None:
            fields["state"] = Export.State.DESTROYED
        if not Export.objects.filter(pk=export.pk, deleted_at__isnull=True).update(**fields):
            return False
        details = {
            "export": export.pk,
            "reference": requisition.reference,
            "procedure_number": requisition.procedure_number,
            "sha256": export.package_sha256,
            "bytes": export.package_size,
            "file": export.package_path,
            "cause": cause,
        }
        if back_to is not None:
            # Revoke what is left of its authorizations: they lead to nothing any more.
            export.links.filter(used_at__isnull=True, revoked_at__isnull=True).update(
                revoked_at=now
            )
            _move(
                requisition,
                from_=[Status.READY],
                to=back_to,
                actor=SYSTEM_ACTOR,
                action="export.package_destroyed",
                reason=reason,
                details=details,
            )
        else:
            record(
                "export.package_destroyed",
                actor=SYSTEM_ACTOR,
                target=requisition,
                reason=reason,
                details=details,
            )
        transaction.on_commit(partial(_unlink_package, export.package_path))
    return True


def _unlink_package(name: str) -> None:
    (packages.export_folder() / name).unlink(missing_ok=True)


def _decision_status(requisition: Requisition) -> str:
    """The status a granted requisition returns to when its package is gone (failed, destroyed)."""
    if requisition.windows.filter(decision=Window.Decision.REFUSED).exists():
        return Status.PARTLY_APPROVED
    return Status.APPROVED


def exports_destroy_unclaimed(*, now: datetime | None = None) -> list[int]:
    """Destroy the packages nobody collected; the ids of the exports destroyed.

    A ready package not downloaded goes EVIDENCE_UNCLAIMED_DAYS after its last authorization
    expired unused — or after it was prepared, if it was never released — and its requisition
    returns to its decision: the footage is still held, so a supervisor can prepare it again.
    A package of a requisition that has ended (closed, refused, cancelled, expired) goes at
    once. Each destruction is audited (the register of derived files reads it). Idempotent.
    """
    now = now or timezone.now()
    grace = timedelta(days=settings.EVIDENCE_UNCLAIMED_DAYS)
    destroyed = []
    ready = _packages_on_disk(
        Export.objects.filter(state=Export.State.READY, requisition__status=Status.READY)
    ).annotate(last_expiry=Max("links__expires_at"))
    for export in ready:
        if export.links.filter(used_at__isnull=False).exists():
            continue
        since = export.last_expiry or export.finished_at
        if since is None or since > now - grace:
            continue
        if export.last_expiry is not None:
            reason = _(
                "Paquet jamais téléchargé : dernière autorisation expirée le %(date)s, délai "
                "de %(days)s jours écoulé."
            ) % {"date": _local(export.last_expiry), "days": settings.EVIDENCE_UNCLAIMED_DAYS}
        else:
            reason = _(
                "Paquet jamais libéré : préparé le %(date)s, délai de %(days)s jours écoulé."
            ) % {"date": _local(since), "days": settings.EVIDENCE_UNCLAIMED_DAYS}
        cause = "unclaimed" if export.last_expiry is not None else "never_released"
        back = _decision_status(export.requisition)
        if _destroy_package(export, reason=reason, cause=cause, now=now, back_to=back):
            destroyed.append(export.pk)
    ended = _packages_on_disk(Export.objects.filter(requisition__status__in=FINISHED))
    for export in ended:
        requisition = export.requisition
        reason = _("Réquisition %(ref)s à l'état « %(status)s »") % {
            "ref": requisition.reference,
            "status": _status_label(requisition),
        }
        if _destroy_package(export, reason=reason, cause="finished", now=now):
            destroyed.append(export.pk)
    return destroyed


def export_files_sweep(*, now: datetime | None = None) -> list[str]:
    """Delete the files of the exports folder that no package on record is: left by a build
    whose process was killed outright, or by a deletion that did not happen after its commit.

    A file younger than a build's longest run (packages.STALLED_AFTER) is left alone, so is the
    file of an export still queued or running; what goes is audited (names and bytes). Returns
    the names deleted.
    """
    now = now or timezone.now()
    cutoff = (now - packages.STALLED_AFTER).timestamp()
    kept = set(
        Export.objects.filter(deleted_at__isnull=True)
        .exclude(package_path="")
        .values_list("package_path", flat=True)
    )
    building = Export.objects.filter(state__in=[Export.State.QUEUED, Export.State.RUNNING])
    kept |= {packages.package_path(export).name for export in building.only("pk")}
    deleted: dict[str, int] = {}
    for path in packages.export_folder().iterdir():
        if not path.is_file() or path.name in kept:
            continue
        try:
            stat = path.stat()
            if stat.st_mtime >= cutoff:
                continue
            path.unlink()
        except FileNotFoundError:  # another sweep got there first
            continue
        deleted[path.name] = stat.st_size
    if deleted:
        with transaction.atomic():
            record(
                "export.orphans_deleted",
                actor=SYSTEM_ACTOR,
                target_type="evidence.exports",
                target_id="exports",
                reason=_("Fichiers d'extraction qu'aucun paquet enregistré ne désigne"),
                details={"files": sorted(deleted), "bytes": sum(deleted.values())},
            )
    return sorted(deleted)


# --- Export -------------------------------------------------------------------------------------


def export_windows(requisition: Requisition) -> list[Window]:
    """The windows an export covers: approved by the magistrate and still frozen."""
    return list(
        requisition.windows.filter(decision=Window.Decision.APPROVED, hold__isnull=False)
        .select_related("camera", "hold")
        .order_by("camera__code", "starts_at")
    )


def export_purpose_refusals(windows: list[Window], purpose: str) -> list[str]:
    """Why an extraction of ``windows`` may not pursue ``purpose``: each camera whose arrêté
    does not list it (CSI L251-2), once per camera."""
    seen: dict[str, str] = {}
    for window in windows:
        if window.camera.code not in seen:
            seen[window.camera.code] = window.camera.purpose_refusal(purpose)
    return [refusal for refusal in seen.values() if refusal]


def export_start(*, requisition: Requisition, purpose: str, actor: User) -> Export:
    """A supervisor with the extraction right on every camera starts the export (Celery), for
    a CSI L251-2 purpose that the arrêté of every camera lists."""
    windows = export_windows(requisition)
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationError(
            {"purpose": _("Indiquez la finalité (CSI L251-2) que poursuit cette extraction.")}
        )
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": _("Finalité inconnue : %(code)s.") % {"code": purpose}})
    if not requisition.is_granted:
        raise ValidationError(
            _("Cette réquisition est à l'état « %(status)s » : aucune extraction n'est possible.")
            % {"status": _status_label(requisition)}
        )
    if not windows:
        raise ValidationError(
            _("Aucune période autorisée n'a d'images conservées : rien à extraire.")
        )
    for window in windows:
        decision = access.decide(actor, Right.EXTRACT, window.camera)
        if not decision:
            raise PermissionDenied(
                _("Caméra %(camera)s : %(reason)s")
                % {"camera": window.camera.code, "reason": decision.reason}
            )
    refusals = export_purpose_refusals(windows, purpose)
    if refusals:
        raise ValidationError({"purpose": refusals})
    with transaction.atomic():
        if not _move(
            requisition,
            to=Status.EXPORTING,
            actor=actor,
            reason=_("Finalité : %(purpose)s") % {"purpose": purpose_label(purpose)},
            details={"purpose": purpose},
        ):
            raise Conflict(
                _("La réquisition vient de changer d'état (« %(status)s ») : rechargez la page.")
                % {"status": _status_label(requisition)}
            )
        export = Export.objects.create(
            requisition=requisition,
            prepared_by=actor,
            purpose=purpose,
            progress_label=_("En attente"),
        )
        transaction.on_commit(lambda: enqueue_build(export.pk))
    return export


#: The Celery task that builds a package, queued by its name: the tasks call the services.
BUILD_TASK = "evidence.tasks.build_export"


def enqueue_build(export_id: int) -> None:
    """Queue the build; if the broker refuses, the export fails at once, with an alert.

    Otherwise it would wait "queued" forever for a task that no worker will ever receive.
    """
    try:
        current_app.tasks[BUILD_TASK].delay(export_id)
    except OperationalError as exc:
        logger.error("export %s not queued: broker unavailable (%s)", export_id, exc)
        message = _(
            "File d'attente des traitements indisponible : l'extraction n'a pas été lancée. "
            "Réessayez dans quelques minutes."
        )
        with transaction.atomic():
            claimed = Export.objects.filter(pk=export_id, state=Export.State.QUEUED).update(
                state=Export.State.FAILED, error=message, finished_at=timezone.now()
            )
            if claimed:
                export_finished(
                    export=Export.objects.select_related("requisition").get(pk=export_id),
                    ok=False,
                    error=message,
                )
        raise Conflict(message) from exc


def export_finished(*, export: Export, ok: bool, error: str = "", details: dict | None = None):
    """Called by the builder: the requisition becomes ready, or returns to its decision."""
    requisition = export.requisition
    with transaction.atomic():
        if ok:
            _move(
                requisition,
                to=Status.READY,
                actor=SYSTEM_ACTOR,
                details={"export": export.pk, **(details or {})},
            )
            return
        back = _decision_status(requisition)
        _move(
            requisition,
            from_=[Status.EXPORTING],
            to=back,
            actor=SYSTEM_ACTOR,
            action="export.failed",
            reason=error[:2000],
            details={"export": export.pk},
        )


def exports_fail_stalled(*, now: datetime | None = None) -> list[int]:
    """Exports whose worker died mid-run (killed, machine lost): failed with an alert.

    The task's hard time limit guarantees that no live run is older; the requisition returns
    to its decision so that the export can be started again, and the partial file goes.
    """
    now = now or timezone.now()
    failed = []
    stalled = Export.objects.filter(
        state=Export.State.RUNNING, started_at__lt=now - packages.STALLED_AFTER
    ).select_related("requisition")
    message = _("Extraction interrompue (processus arrêté) : relancez-la.")
    for export in stalled:
        with transaction.atomic():
            if not Export.objects.filter(pk=export.pk, state=Export.State.RUNNING).update(
                state=Export.State.FAILED, error=message, finished_at=now
            ):
                continue
            packages.package_path(export).unlink(missing_ok=True)
            export_finished(export=export, ok=False, error=message)
        failed.append(export.pk)
    return failed


def _issue_link(export: Export, actor: User) -> DownloadLink:
    """Allow the requesting officer one download (an unused earlier one is revoked).

    The officer downloads from his own requisition page, signed in with his second factor:
    no token leaves the server (the hash column keeps rows unique and carries no secret).
    """
    now = timezone.now()
    DownloadLink.objects.filter(
        export=export, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    link = DownloadLink.objects.create(
        export=export,
        recipient=export.requisition.officer,
        token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        issued_by=actor,
        issued_at=now,
        expires_at=now + timedelta(hours=settings.EVIDENCE_LINK_HOURS),
    )
    record(
        "export.link_issued",
        actor=actor,
        target=export.requisition,
        recipient=str(link.recipient),
        details={"export": export.pk, "link": link.pk, "expires_at": link.expires_at},
    )
    notify.status_changed(export.requisition, _("Téléchargement autorisé"))
    return link


def _ready_export(requisition: Requisition) -> Export:
    export = requisition.exports.filter(state=Export.State.READY).first()
    if export is None:
        raise ValidationError(_("Aucune extraction prête pour cette réquisition."))
    return export


def export_release(*, requisition: Requisition, actor: User) -> DownloadLink:
    """The supervisor has checked the package: release it to the officer (one download)."""
    export = _ready_export(requisition)
    with transaction.atomic():
        updated = Export.objects.filter(pk=export.pk, released_at__isnull=True).update(
            released_at=timezone.now(), released_by=actor
        )
        if not updated:
            raise Conflict(_("Cette extraction a déjà été libérée."))
        record(
            "export.released",
            actor=actor,
            target=requisition,
            recipient=str(requisition.officer),
            details={"export": export.pk, "package_sha256": export.package_sha256},
        )
        export.refresh_from_db()
        return _issue_link(export, actor)


def link_reissue(*, requisition: Requisition, actor: User) -> DownloadLink:
    """Allow one more download (the previous unused one is revoked), for a released export."""
    destroyed = requisition.exports.filter(state=Export.State.DESTROYED).first()
    if requisition.status in GRANTED and destroyed is not None and destroyed.deleted_at:
        raise ValidationError(
            _(
                "Le paquet d'extraction a été détruit le %(date)s, faute de téléchargement dans "
                "le délai : préparez une nouvelle extraction, puis libérez-la."
            )
            % {"date": _local(destroyed.deleted_at)}
        )
    if requisition.status not in (Status.READY, Status.HANDED_OVER):
        raise ValidationError(
            _(
                "Cette réquisition est à l'état « %(status)s » : aucun téléchargement ne peut "
                "être autorisé."
            )
            % {"status": _status_label(requisition)}
        )
    export = _ready_export(requisition)
    if export.released_at is None:
        raise ValidationError(_("Vérifiez et libérez d'abord l'extraction."))
    with transaction.atomic():
        return _issue_link(export, actor)


def _link_problem(link: DownloadLink, actor: User, now: datetime) -> str:
    export = link.export
    if actor.pk != link.recipient_id or actor.role != Role.OPJ:
        return _(
            "Ce téléchargement a été autorisé à un autre officier : seul le destinataire peut "
            "télécharger l'extraction."
        )
    if link.revoked_at is not None:
        return _("Ce téléchargement a été remplacé par une nouvelle autorisation.")
    if link.used_at is not None:
        return _(
            "L'extraction a déjà été téléchargée le %(date)s : un second téléchargement exige "
            "une nouvelle autorisation du chef de salle."
        ) % {"date": _local(link.used_at)}
    if link.expires_at <= now:
        return _(
            "L'autorisation de téléchargement a expiré le %(date)s : demandez-en une nouvelle "
            "au chef de salle."
        ) % {"date": _local(link.expires_at)}
    if export.deleted_at is not None or export.requisition.status not in (
        Status.READY,
        Status.HANDED_OVER,
    ):
        return _("Cette extraction n'est plus disponible.")
    return ""


def link_use(*, link: DownloadLink, actor: User, place: str = "") -> Export:
    """Consume the download for its recipient (once, before expiry) and draw up the
    procès-verbal de remise in the same transaction; DownloadRefused otherwise."""
    export = link.export
    requisition = export.requisition
    now = timezone.now()
    problem = _link_problem(link, actor, now)
    if not problem:
        with transaction.atomic():
            used = DownloadLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now)
            if used:
                link.used_at = now
                signer = manifest.signer()
                pdf = handover.proces_verbal_de_remise(
                    link=link, signing_fingerprint=signer.fingerprint, place=place
                )
                digest = hashlib.sha256(pdf).hexdigest()
                signature = signer.sign(pdf).decode("ascii").strip()
                DownloadLink.objects.filter(pk=link.pk).update(
                    handover_record=pdf,
                    handover_record_sha256=digest,
                    handover_record_signature=signature,
                    handover_record_public_key=signer.public_raw_b64,
                )
                details = {
                    "export": export.pk,
                    "link": link.pk,
                    "package_sha256": export.package_sha256,
                    "files": len(export.files),
                    "handover_record_sha256": digest,
                    "handover_record_signature": signature,
                    "signing_key_sha256": signer.fingerprint,
                }
                if not _move(
                    requisition,
                    to=Status.HANDED_OVER,
                    actor=actor,
                    details=details,
                    handed_over_at=now,
                ):
                    record("export.downloaded", actor=actor, target=requisition, details=details)
                return export
        problem = _(
            "L'extraction vient d'être téléchargée : un second téléchargement exige une "
            "nouvelle autorisation."
        )
    _refuse(
        "export.download_refused",
        actor=actor,
        target=requisition,
        reason=problem,
        details={"export": export.pk, "link": link.pk},
    )
    raise DownloadRefused(problem)


def handover_download(*, requisition: Requisition, actor: User, place: str = "") -> Export:
    """The officer downloads the released package from his requisition page (a POST).

    Consumes his current authorization; DownloadRefused (audited) when there is none usable.
    """
    link = (
        DownloadLink.objects.select_related("export__requisition", "recipient")
        .filter(export__requisition=requisition, recipient_id=actor.pk)
        .order_by("-issued_at", "-pk")
        .first()
    )
    if link is None:
        problem = _("Aucun téléchargement ne vous a été autorisé pour cette réquisition.")
        _refuse(
            "export.download_refused",
            actor=actor,
            target=requisition,
            reason=problem,
            details={},
        )
        raise DownloadRefused(problem)
    return link_use(link=link, actor=actor, place=place)


def export_clip_open(*, requisition: Requisition, index: int, actor: Actor) -> tuple[Export, str]:
    """A supervisor plays a prepared clip (masks burnt in) before releasing it; audited.

    Needs the extraction right on every camera of the export, as preparing it did.
    ValidationError when there is no such clip in the ready export.
    """
    export = _ready_export(requisition)
    clips = [f["path"] for f in export.files if f.get("kind") == "clip"]
    if not 1 <= index <= len(clips) or export.deleted_at is not None:
        raise ValidationError(_("Cette séquence n'existe pas dans l'extraction."))
    approved = requisition.windows.filter(decision=Window.Decision.APPROVED)
    for window in approved.select_related("camera"):
        decision = access.decide(actor, Right.EXTRACT, window.camera)
        if not decision:
            raise PermissionDenied(
                _("Caméra %(camera)s : %(reason)s")
                % {"camera": window.camera.code, "reason": decision.reason}
            )
    path = clips[index - 1]
    with transaction.atomic():
        record(
            "export.clip_viewed",
            actor=actor,
            target=requisition,
            reason=_("Vérification de l'extraction avant remise"),
            details={"export": export.pk, "clip": path},
        )
    return export, path
