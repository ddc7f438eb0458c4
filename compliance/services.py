"""Access requests: intake with its holds, the answer, the refusal, the reminders; the extract's
validation by the DPO, its single handover and its destruction once the request is answered.

The DPO registers the request (having checked the requester's identity), validates the extract
on its metadata (never its images) and answers; a supervisor habilitated to extract prepares the
extract (``compliance.extract``) and hands it over, once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts import access
from accounts.actors import Actor, SystemActor
from accounts.models import User
from accounts.roles import Right
from audit.services import record
from cameras.models import Camera
from cameras.purposes import RIGHT_OF_ACCESS, purpose_label
from compliance.areas import kept_percent
from compliance.models import AccessRequest, AccessRequestCamera, RefusalReason, one_month_after
from compliance.roles import REQUEST_ANSWERERS
from csu.lib.times import paris_text
from evidence.services import DownloadRefused
from recordings.holds import FootageUnavailable, hold_place, hold_release
from recordings.models import Hold, Segment
from recordings.purge import destructions

logger = logging.getLogger(__name__)

REFERENCE_TYPE = "compliance.accessrequest"
#: The tasks that sweep answered requests and remind the DPO, as the audit trail names them.
SWEEPER = SystemActor("celery:sweep_extracts")
REMINDER = SystemActor("celery:remind")


def _local(moment: datetime) -> str:
    return paris_text(moment, seconds=False)


def extract_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "access-requests"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _require_dpo(actor: Actor) -> None:
    """Registering, validating and answering are the DPO's acts, whoever calls the service."""
    if getattr(actor, "role", None) not in REQUEST_ANSWERERS:
        raise PermissionDenied(
            _("Seul le délégué à la protection des données peut accomplir cet acte.")
        )


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
    actor: User,
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
    _require_dpo(actor)
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
    request: AccessRequest, *, status: str, outcome: str, actor: Actor, **fields: Any
) -> AccessRequest:
    """Conditional update: a request is answered once, even by two people at the same time.

    The extracts prepared for it are destroyed in the same transaction, whatever the answer.
    """
    now = timezone.now()
    updated = AccessRequest.objects.filter(pk=request.pk, status=AccessRequest.Status.OPEN).update(
        status=status, outcome=outcome, answered_at=now, answered_by=actor, **fields
    )
    if not updated:
        raise ValidationError(_("Cette demande a déjà reçu sa réponse."), code="closed")
    request.refresh_from_db()
    _destroy_extracts(request, actor)
    return request


def _unlink_extract(name: str) -> None:
    (extract_folder() / name).unlink(missing_ok=True)


def _destroy_extracts(request: AccessRequest, actor: Actor) -> int:
    """Destroy every extract of the answered request: wrapped key now, file once committed.

    Without its key the file is unreadable at once (crypto-shredding), even where the deletion
    of the file itself would not happen; each destruction is an audited register entry.
    """
    now = timezone.now()
    count = 0
    rows = (
        AccessRequestCamera.objects.select_for_update()
        .filter(request=request, extract_destroyed_at__isnull=True)
        .exclude(extract_path="")
        .select_related("camera")
    )
    for row in rows:
        AccessRequestCamera.objects.filter(pk=row.pk).update(
            extract_path="", extract_key=None, extract_key_id="", extract_destroyed_at=now
        )
        record(
            "access_request.extract_destroyed",
            actor=actor,
            target=request,
            target_label=request.reference,
            reason=_("Réponse apportée à la demande d'accès %(ref)s") % {"ref": request.reference},
            details={
                "camera": row.camera.code,
                "sha256": row.extract_sha256,
                "bytes": row.extract_size,
                "key_id": row.extract_key_id,
                "handed_over_at": row.extract_handed_over_at,
            },
        )
        transaction.on_commit(partial(_unlink_extract, row.extract_path))
        count += 1
    return count


def extracts_sweep(
    *,
    actor: Actor = SWEEPER,
    older_than: timedelta = timedelta(days=1),
) -> tuple[int, int]:
    """Destroy what answered requests left behind; (extracts destroyed, files deleted).

    Extracts of closed requests that still hold a key (prepared before the answer destroyed
    them) are destroyed as the answer does; files no row points to — a process stopped between
    an answer's commit and the deletion, a build killed midway — go once ``older_than`` old, so
    that a build in progress keeps its file. Idempotent.
    """
    destroyed = 0
    leftovers = (
        AccessRequestCamera.objects.filter(extract_destroyed_at__isnull=True)
        .exclude(extract_path="")
        .exclude(request__status=AccessRequest.Status.OPEN)
        .values_list("request_id", flat=True)
        .distinct()
    )
    for pk in list(leftovers):
        with transaction.atomic():
            request = AccessRequest.objects.select_for_update().get(pk=pk)
            if request.status != AccessRequest.Status.OPEN:
                destroyed += _destroy_extracts(request, actor)
    live = set(
        AccessRequestCamera.objects.exclude(extract_path="").values_list("extract_path", flat=True)
    )
    cutoff = (timezone.now() - older_than).timestamp()
    orphans = [
        path
        for path in extract_folder().iterdir()
        if path.is_file() and path.name not in live and path.stat().st_mtime < cutoff
    ]
    sizes: dict[str, int] = {}
    for path in orphans:
        try:
            sizes[path.name] = path.stat().st_size
            path.unlink()
        except FileNotFoundError:  # another sweep got there first
            continue
    if sizes:
        with transaction.atomic():
            record(
                "access_request.extract_orphans_deleted",
                actor=actor,
                target_type="compliance.extracts",
                target_id="access-requests",
                details={"files": sorted(sizes), "bytes": sum(sizes.values())},
            )
    return destroyed, len(sizes)


def _release_holds(request: AccessRequest, actor: Actor) -> None:
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
    *, request: AccessRequest, actor: Actor, note: str = ""
) -> AccessRequest:
    """Answer that the footage no longer exists, citing the destruction register."""
    _require_dpo(actor)
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
    *, request: AccessRequest, actor: Actor, note: str = ""
) -> AccessRequest:
    """Answer with the blurred extracts handed over to the requester; the holds are then
    lifted and every extract of the request destroyed."""
    _require_dpo(actor)
    _require_open(request)
    rows = list(request.footage.select_related("camera"))
    if not any(row.has_extract for row in rows):
        raise ValidationError(
            _("Préparez d'abord l'extrait flouté d'au moins une caméra."), code="no_extract"
        )
    built = [row for row in rows if row.has_extract and row.extract_handed_over_at is not None]
    if not built:
        raise ValidationError(
            _(
                "Aucun extrait n'a encore été remis au demandeur : validez l'extrait préparé, "
                "puis faites-le remettre par le chef de salle."
            ),
            code="not_handed_over",
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
    *, request: AccessRequest, reason: str, actor: Actor, note: str = ""
) -> AccessRequest:
    """Refuse (or restrict) on one of the grounds the law allows, and say how to appeal.

    The holds stay until their expiry: the person may still turn to the CNIL, which then
    needs the footage.
    """
    _require_dpo(actor)
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


@transaction.atomic
def extract_release(*, footage: AccessRequestCamera, actor: Actor) -> AccessRequestCamera:
    """The DPO validates the prepared extract on its metadata; it may then be handed over once.

    Refused for a closed request, no extract, an extract already validated or rebuilt since
    the page was read, and kept areas wider than the setting allows (an extract prepared
    before the bound existed is never released).
    """
    _require_dpo(actor)
    request = footage.request
    _require_open(request)
    if not footage.has_extract:
        raise ValidationError(
            _("Aucun extrait préparé pour la caméra %(camera)s.") % {"camera": footage.camera.code},
            code="no_extract",
        )
    percent = kept_percent(footage.keep_areas)
    if percent > settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT:
        raise ValidationError(
            _(
                "Cet extrait laisse nets %(percent)s %% de l'image (au plus %(limit)s %%) : "
                "faites-le préparer à nouveau."
            )
            % {
                "percent": number_format(percent),
                "limit": settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT,
            },
            code="areas_too_large",
        )
    now = timezone.now()
    updated = AccessRequestCamera.objects.filter(
        pk=footage.pk,
        extract_sha256=footage.extract_sha256,
        extract_released_at__isnull=True,
        extract_destroyed_at__isnull=True,
    ).update(extract_released_at=now, extract_released_by=actor)
    if not updated:
        raise ValidationError(
            _(
                "Cet extrait a déjà été validé, ou vient d'être préparé à nouveau : rechargez "
                "la page."
            ),
            code="conflict",
        )
    footage.refresh_from_db()
    record(
        "access_request.extract_released",
        actor=actor,
        target=request,
        target_label=request.reference,
        recipient=request.requester,
        reason=_("Réponse à la demande d'accès %(ref)s — %(purpose)s")
        % {"ref": request.reference, "purpose": purpose_label(RIGHT_OF_ACCESS)},
        details={
            "purpose": RIGHT_OF_ACCESS,
            "camera": footage.camera.code,
            "sha256": footage.extract_sha256,
            "frames": footage.extract_frames,
            "keep_areas": footage.keep_areas,
            "kept_percent": percent,
            "blur_areas": footage.blur_areas,
            "built_by": footage.extract_built_by_id,
            "built_at": footage.extract_built_at,
            "starts_at": request.starts_at,
            "ends_at": request.ends_at,
        },
    )
    return footage


def _refused(footage: AccessRequestCamera, actor: Actor, problem: str) -> DownloadRefused:
    """The refusal to raise, audited in its own transaction (the download leaves nothing)."""
    with transaction.atomic():
        record(
            "access_request.extract_download_refused",
            actor=actor,
            target=footage.request,
            target_label=footage.request.reference,
            reason=problem,
            details={"camera": footage.camera.code, "sha256": footage.extract_sha256},
        )
    return DownloadRefused(problem)


def extract_hand_over(*, footage: AccessRequestCamera, actor: Actor) -> AccessRequestCamera:
    """Consume the single download of a validated extract, for the supervisor handing it over.

    Needs a habilitation carrying the extraction right on the camera (PermissionDenied);
    DownloadRefused, audited, when the extract is not validated, already downloaded, destroyed
    or the request answered.
    """
    decision = access.decide(actor, Right.EXTRACT, footage.camera)
    if not decision:
        raise PermissionDenied(decision.reason)
    request = footage.request
    problem = ""
    if footage.extract_destroyed_at is not None:
        problem = _("Cet extrait a été détruit le %(date)s, après la réponse à la demande.") % {
            "date": _local(footage.extract_destroyed_at)
        }
    elif footage.extract_handed_over_at is not None:
        problem = _(
            "Cet extrait a déjà été téléchargé le %(date)s : il ne se télécharge qu'une fois."
        ) % {"date": _local(footage.extract_handed_over_at)}
    elif footage.extract_released_at is None:
        problem = _(
            "Cet extrait n'a pas été validé par le délégué à la protection des données : il ne "
            "peut pas encore être remis."
        )
    elif request.status != AccessRequest.Status.OPEN:
        problem = _("Cette demande a déjà reçu sa réponse.")
    if problem:
        raise _refused(footage, actor, problem)
    now = timezone.now()
    with transaction.atomic():
        # The request locked while open, so that no answer (which destroys the extract) runs
        # meanwhile; the row updated on its own columns only, so that a concurrent download
        # re-reads them once the first commits (a join here would let both through).
        still_open = list(
            AccessRequest.objects.select_for_update()
            .filter(pk=request.pk, status=AccessRequest.Status.OPEN)
            .values_list("pk", flat=True)
        )
        used = (
            AccessRequestCamera.objects.filter(
                pk=footage.pk,
                extract_sha256=footage.extract_sha256,
                extract_released_at__isnull=False,
                extract_handed_over_at__isnull=True,
                extract_destroyed_at__isnull=True,
            )
            .exclude(extract_path="")
            .update(extract_handed_over_at=now, extract_handed_over_by=actor)
            if still_open
            else 0
        )
        if used:
            footage.refresh_from_db()
            record(
                "access_request.extract_downloaded",
                actor=actor,
                target=request,
                target_label=request.reference,
                recipient=request.requester,
                reason=_("Réponse à la demande d'accès %(ref)s") % {"ref": request.reference},
                details={
                    "camera": footage.camera.code,
                    "sha256": footage.extract_sha256,
                    "released_by": footage.extract_released_by_id,
                    "habilitation": decision.habilitation.pk if decision.habilitation else None,
                },
            )
            return footage
    raise _refused(
        footage, actor, _("Cet extrait vient d'être téléchargé : il ne se télécharge qu'une fois.")
    )


def due_for_reminder(today: Any = None) -> list[AccessRequest]:
    today = today or timezone.localdate()
    horizon = timezone.now() + timedelta(days=settings.COMPLIANCE_ACCESS_REQUEST_REMINDER_DAYS)
    return list(
        AccessRequest.objects.filter(status=AccessRequest.Status.OPEN, deadline__lte=horizon)
        .exclude(last_reminder_on=today)
        .order_by("deadline")
    )


def access_request_remind(*, request: AccessRequest, actor: Actor = REMINDER) -> bool:
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
