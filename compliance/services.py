"""Access requests: intake with its holds, the answer, the refusal, the reminders."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from cameras.models import Camera
from compliance.models import AccessRequest, AccessRequestCamera, RefusalReason, one_month_after
from csu.times import paris_text
from recordings.holds import FootageUnavailable, hold_place, hold_release
from recordings.models import Hold, Segment
from recordings.purge import destructions

logger = logging.getLogger(__name__)

REFERENCE_TYPE = "compliance.accessrequest"


def _local(moment: datetime) -> str:
    return paris_text(moment, seconds=False)


@transaction.atomic
def access_request_create(
    *,
    requester_last_name: str,
    requester_first_name: str,
    identity_document: str,
    identity_document_ref: str,
    description: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    cameras: list[Camera],
    actor: Any,
    requester_birth_date: Any = None,
    requester_email: str = "",
    requester_address: str = "",
    received_at: datetime | None = None,
) -> AccessRequest:
    """Register the request and freeze the matching footage, in one transaction.

    Each camera gets a hold at once (``recordings.holds.hold_place``); a camera whose footage is
    already gone keeps the register's destruction entry instead. Any failure after a hold is
    placed rolls the request and its holds back together.
    """
    if not cameras:
        raise ValidationError({"cameras": _("Indiquez au moins une caméra.")}, code="cameras")
    now = timezone.now()
    received_at = received_at or now
    request = AccessRequest(
        requester_last_name=requester_last_name.strip(),
        requester_first_name=requester_first_name.strip(),
        requester_birth_date=requester_birth_date,
        requester_email=requester_email.strip(),
        requester_address=requester_address.strip(),
        identity_document=identity_document,
        identity_document_ref=identity_document_ref.strip()[-4:],
        identity_checked_by=actor,
        identity_checked_at=now,
        description=description.strip(),
        place=place.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        received_at=received_at,
        deadline=one_month_after(received_at),
        created_by=actor,
    )
    request.full_clean()
    request.save()
    expires_at = now + timedelta(days=settings.COMPLIANCE_ACCESS_REQUEST_HOLD_DAYS)
    footage = []
    for camera in sorted(set(cameras), key=lambda c: c.code):
        row = AccessRequestCamera(request=request, camera=camera)
        try:
            row.hold = hold_place(
                camera=camera,
                starts_at=starts_at,
                ends_at=ends_at,
                basis=Hold.Basis.ACCESS_REQUEST,
                reason=_("Demande d'accès %(ref)s") % {"ref": request.reference},
                expires_at=expires_at,
                actor=actor,
                reference_type=REFERENCE_TYPE,
                reference_id=str(request.pk),
                reference_label=request.reference,
            )
        except FootageUnavailable as exc:
            row.unavailable = " ".join(exc.messages)
            row.destruction = exc.entry
        row.save()
        footage.append(row)
    record(
        "access_request.received",
        actor=actor,
        target=request,
        target_label=request.reference,
        reason=request.place,
        details={
            "identity_document": request.identity_document,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "deadline": request.deadline,
            "cameras": [
                {
                    "camera": row.camera.code,
                    "hold": row.hold_id,
                    "destruction_entry": row.destruction_id,
                }
                for row in footage
            ],
        },
    )
    return request


def _require_open(request: AccessRequest) -> None:
    if request.status != AccessRequest.Status.OPEN:
        raise ValidationError(_("Cette demande a déjà reçu sa réponse."), code="closed")


def _close(
    request: AccessRequest, *, status: str, outcome: str, actor: Any, **fields: Any
) -> AccessRequest:
    """Conditional update: a request is answered once, even by two people at the same time."""
    now = timezone.now()
    updated = AccessRequest.objects.filter(pk=request.pk, status=AccessRequest.Status.OPEN).update(
        status=status, outcome=outcome, answered_at=now, answered_by=actor, **fields
    )
    if not updated:
        raise ValidationError(_("Cette demande a déjà reçu sa réponse."), code="closed")
    request.refresh_from_db()
    return request


def _release_holds(request: AccessRequest, actor: Any) -> None:
    for row in request.footage.select_related("hold").filter(hold__released_at__isnull=True):
        assert row.hold is not None
        hold_release(
            hold=row.hold,
            reason=_("Réponse apportée à la demande d'accès %(ref)s") % {"ref": request.reference},
            actor=actor,
        )


def destruction_answer(request: AccessRequest) -> tuple[str, datetime | None, str]:
    """The answer's text from the destruction register, its latest date, and the outcome.

    Refused (ValidationError) while footage of the window is still kept.
    """
    lines: list[str] = []
    latest: datetime | None = None
    for row in request.footage.select_related("camera", "destruction"):
        kept = Segment.objects.filter(
            camera=row.camera,
            state=Segment.State.STORED,
            started_at__lt=request.ends_at,
            ended_at__gt=request.starts_at,
        ).exists()
        if kept:
            raise ValidationError(
                _(
                    "Des images de la caméra %(camera)s sur cette période sont conservées : "
                    "répondez par un extrait ou par un refus motivé."
                )
                % {"camera": row.camera.code},
                code="footage_kept",
            )
        entry = row.destruction or (
            destructions(camera=row.camera, start=request.starts_at, end=request.ends_at)
            .filter(segment_count__gt=0)
            .first()
        )
        if entry is None:
            lines.append(
                _("Caméra %(camera)s : aucun enregistrement n'existe pour cette période.")
                % {"camera": row.camera.code}
            )
            continue
        latest = max(latest, entry.destroyed_at) if latest else entry.destroyed_at
        lines.append(
            _(
                "Caméra %(camera)s : les images du %(start)s au %(end)s ont été détruites le "
                "%(date)s à l'expiration de leur durée de conservation de %(days)s jours "
                "(registre des destructions, entrée n° %(entry)s)."
            )
            % {
                "camera": row.camera.code,
                "start": _local(request.starts_at),
                "end": _local(request.ends_at),
                "date": _local(entry.destroyed_at),
                "days": row.camera.retention_days,
                "entry": entry.pk,
            }
        )
    outcome = (
        AccessRequest.Outcome.DESTROYED if latest is not None else AccessRequest.Outcome.NO_FOOTAGE
    )
    return "\n".join(lines), latest, outcome


@transaction.atomic
def access_request_answer_destroyed(
    *, request: AccessRequest, actor: Any, note: str = ""
) -> AccessRequest:
    """Answer that the footage no longer exists, citing the destruction register."""
    _require_open(request)
    text, destroyed_at, outcome = destruction_answer(request)
    if note.strip():
        text = f"{text}\n\n{note.strip()}"
    request = _close(
        request,
        status=AccessRequest.Status.ANSWERED,
        outcome=outcome,
        actor=actor,
        answer_text=text,
        destroyed_at=destroyed_at,
    )
    record(
        "access_request.answered",
        actor=actor,
        target=request,
        target_label=request.reference,
        reason=text,
        recipient=request.requester,
        details={"outcome": outcome, "destroyed_at": destroyed_at},
    )
    return request


@transaction.atomic
def access_request_answer_extract(
    *, request: AccessRequest, actor: Any, note: str = ""
) -> AccessRequest:
    """Answer with the blurred extracts already prepared; the holds are then lifted."""
    _require_open(request)
    rows = list(request.footage.select_related("camera"))
    built = [row for row in rows if row.extract_sha256]
    if not built:
        raise ValidationError(
            _("Préparez d'abord l'extrait flouté d'au moins une caméra."), code="no_extract"
        )
    lines = [
        _("Caméra %(camera)s : extrait du %(start)s au %(end)s, SHA-256 %(sha)s.")
        % {
            "camera": row.camera.code,
            "start": _local(request.starts_at),
            "end": _local(request.ends_at),
            "sha": row.extract_sha256,
        }
        for row in built
    ]
    lines.append(
        _(
            "Les personnes autres que le demandeur ont été floutées pour protéger leurs droits "
            "(RGPD art. 15.4)."
        )
    )
    if note.strip():
        lines.append(note.strip())
    request = _close(
        request,
        status=AccessRequest.Status.ANSWERED,
        outcome=AccessRequest.Outcome.EXTRACT,
        actor=actor,
        answer_text="\n".join(lines),
    )
    record(
        "access_request.answered",
        actor=actor,
        target=request,
        target_label=request.reference,
        reason="\n".join(lines),
        recipient=request.requester,
        details={
            "outcome": AccessRequest.Outcome.EXTRACT,
            "extracts": {row.camera.code: row.extract_sha256 for row in built},
        },
    )
    _release_holds(request, actor)
    return request


@transaction.atomic
def access_request_refuse(
    *, request: AccessRequest, reason: str, actor: Any, note: str = ""
) -> AccessRequest:
    """Refuse (or restrict) on one of the grounds the law allows, and say how to appeal.

    The holds stay until their expiry: the person may still turn to the CNIL, which then
    needs the footage.
    """
    _require_open(request)
    if reason not in RefusalReason.values:
        raise ValidationError(
            {"reason": _("Choisissez un motif de refus prévu par la loi.")}, code="reason"
        )
    text = str(RefusalReason(reason).label)
    if note.strip():
        text = f"{text}\n{note.strip()}"
    text += "\n" + _(
        "Vous pouvez saisir la Commission nationale de l'informatique et des libertés (CNIL) "
        "d'une réclamation, ou exercer votre droit d'accès par son intermédiaire."
    )
    request = _close(
        request,
        status=AccessRequest.Status.REFUSED,
        outcome=AccessRequest.Outcome.REFUSED,
        actor=actor,
        refusal_reason=reason,
        answer_text=text,
    )
    record(
        "access_request.refused",
        actor=actor,
        target=request,
        target_label=request.reference,
        reason=text,
        recipient=request.requester,
        details={"refusal_reason": reason},
    )
    return request


def due_for_reminder(today: Any = None) -> list[AccessRequest]:
    today = today or timezone.localdate()
    horizon = timezone.now() + timedelta(days=settings.COMPLIANCE_ACCESS_REQUEST_REMINDER_DAYS)
    return list(
        AccessRequest.objects.filter(status=AccessRequest.Status.OPEN, deadline__lte=horizon)
        .exclude(last_reminder_on=today)
        .order_by("deadline")
    )


def access_request_remind(*, request: AccessRequest, actor: Any = "celery:remind") -> bool:
    """Remind the DPO of an open request near or past its deadline, once a day. True if sent."""
    today = timezone.localdate()
    with transaction.atomic():
        claimed = (
            AccessRequest.objects.filter(pk=request.pk, status=AccessRequest.Status.OPEN)
            .exclude(last_reminder_on=today)
            .update(last_reminder_on=today)
        )
        if not claimed:
            return False
        overdue = timezone.now() > request.deadline
        record(
            "access_request.reminder",
            actor=actor,
            target=request,
            target_label=request.reference,
            details={"deadline": request.deadline, "overdue": overdue},
        )
    if settings.COMPLIANCE_DPO_EMAIL:
        subject = (
            _("Demande d'accès %(ref)s : délai de réponse dépassé")
            if overdue
            else _("Demande d'accès %(ref)s : réponse due le %(date)s")
        ) % {"ref": request.reference, "date": _local(request.deadline)}
        try:
            send_mail(
                subject,
                _(
                    "La demande d'accès %(ref)s, reçue le %(received)s, doit recevoir sa réponse "
                    "au plus tard le %(date)s (RGPD art. 12.3)."
                )
                % {
                    "ref": request.reference,
                    "received": _local(request.received_at),
                    "date": _local(request.deadline),
                },
                None,
                [settings.COMPLIANCE_DPO_EMAIL],
            )
        except OSError:
            logger.exception("reminder of access request %s could not be mailed", request.pk)
    return True
