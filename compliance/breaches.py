"""The register of personal-data breaches (RGPD art. 33.5): the DPO's record of each one, the
72-hour notification deadline and its reminders, and the drafts opened by the failures of
integrity that the product detects itself (``audit.signals.integrity_failure``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor, SystemActor, person
from audit.services import record
from compliance.models import Breach
from compliance.roles import BREACH_KEEPERS
from csu.lib.times import paris_text

logger = logging.getLogger(__name__)

DETECTOR = SystemActor("integrity-check")
REMINDER = SystemActor("celery:remind_breaches")

#: What the DPO fills in on the form, in its order.
FIELDS = (
    "description",
    "occurred_at",
    "discovered_at",
    "discovered_by",
    "data_categories",
    "data_records",
    "people_categories",
    "people_count",
    "consequences",
    "measures_taken",
    "measures_planned",
)

#: The reminders before the deadline, each sent once: (field, hours before the deadline).
REMINDERS = (("reminded_24h_at", 24), ("reminded_6h_at", 6), ("reminded_overdue_at", 0))


def _local(moment: datetime | None) -> str:
    return paris_text(moment, seconds=False, empty="")


def _require_keeper(actor: Actor) -> None:
    if getattr(actor, "role", None) not in BREACH_KEEPERS:
        raise PermissionDenied(
            _("Seul le délégué à la protection des données tient le registre des violations.")
        )


def validate(data: dict[str, Any], *, now: datetime) -> None:
    """French errors, per field, for dates that cannot be: the future, or before the fact."""
    errors: dict[str, str] = {}
    discovered, occurred = data.get("discovered_at"), data.get("occurred_at")
    if discovered is not None and discovered > now:
        errors["discovered_at"] = _("La découverte ne peut pas être dans le futur.")
    if occurred is not None and occurred > now:
        errors["occurred_at"] = _("La violation ne peut pas être survenue dans le futur.")
    elif occurred is not None and discovered is not None and occurred > discovered:
        errors["occurred_at"] = _("La violation ne peut pas être survenue après sa découverte.")
    if not (data.get("description") or "").strip():
        errors["description"] = _("Décrivez ce qui s'est passé.")
    if not (data.get("discovered_by") or "").strip():
        errors["discovered_by"] = _("Indiquez qui a découvert la violation.")
    if errors:
        raise ValidationError(errors)


def _record(code: str, breach: Breach, *, actor: Any, details: dict[str, Any]) -> None:
    """The audit event of a change to ``breach``, named by its reference."""
    record(code, actor=actor, target=breach, target_label=breach.reference, details=details)


def _details(breach: Breach) -> dict[str, Any]:
    return {
        "discovered_at": breach.discovered_at,
        "deadline": breach.deadline,
        "state": breach.state,
    }


@transaction.atomic
def breach_create(*, actor: Actor, now: datetime | None = None, **data: Any) -> Breach:
    """A breach the DPO records by hand; open at once."""
    _require_keeper(actor)
    now = now or timezone.now()
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    validate(data, now=now)
    breach = Breach.objects.create(
        **data,
        state=Breach.State.OPEN,
        origin=Breach.Origin.MANUAL,
        created_at=now,
        created_by=person(actor),
    )
    _record(
        "breach.created",
        breach,
        actor=actor,
        details=_details(breach),
    )
    return breach


@transaction.atomic
def breach_update(
    *, breach: Breach, actor: Actor, now: datetime | None = None, **data: Any
) -> Breach:
    """The DPO completes or corrects a breach; a draft the DPO edits is thereby opened."""
    _require_keeper(actor)
    now = now or timezone.now()
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.state == Breach.State.CLOSED:
        raise ValidationError(_("Cette violation est close : elle ne peut plus être modifiée."))
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    validate({**{f: getattr(breach, f) for f in FIELDS}, **data}, now=now)
    changed = sorted(f for f, value in data.items() if getattr(breach, f) != value)
    for field, value in data.items():
        setattr(breach, field, value)
    opened = breach.state == Breach.State.DRAFT
    breach.state = Breach.State.OPEN
    breach.save()
    _record(
        "breach.updated",
        breach,
        actor=actor,
        details={**_details(breach), "fields": changed, "opened": opened},
    )
    return breach


@transaction.atomic
def breach_decide(
    *,
    breach: Breach,
    actor: Actor,
    cnil_decision: str,
    cnil_reason: str,
    cnil_notified_at: datetime | None = None,
    cnil_reference: str = "",
    people_decision: str,
    people_reason: str,
    people_notified_at: datetime | None = None,
    now: datetime | None = None,
) -> Breach:
    """The decision to notify the CNIL (art. 33) and the people (art. 34), each with its reason."""
    _require_keeper(actor)
    now = now or timezone.now()
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.state == Breach.State.CLOSED:
        raise ValidationError(_("Cette violation est close : elle ne peut plus être modifiée."))
    decisions = {Breach.Decision.NOTIFY, Breach.Decision.NOT_NOTIFY}
    errors: dict[str, str] = {}
    if cnil_decision not in decisions:
        errors["cnil_decision"] = _("Choisissez de notifier ou non la CNIL.")
    if people_decision not in decisions:
        errors["people_decision"] = _("Choisissez de prévenir ou non les personnes concernées.")
    if not cnil_reason.strip():
        errors["cnil_reason"] = _("Motivez la décision de notifier ou non la CNIL.")
    if not people_reason.strip():
        errors["people_reason"] = _("Motivez la décision de prévenir ou non les personnes.")
    if cnil_decision == Breach.Decision.NOTIFY and cnil_notified_at is None:
        errors["cnil_notified_at"] = _("Indiquez la date de la notification à la CNIL.")
    if people_decision == Breach.Decision.NOTIFY and people_notified_at is None:
        errors["people_notified_at"] = _("Indiquez la date de la communication aux personnes.")
    for field, moment in (
        ("cnil_notified_at", cnil_notified_at),
        ("people_notified_at", people_notified_at),
    ):
        if moment is not None and moment > now:
            errors[field] = _("Cette date ne peut pas être dans le futur.")
        elif moment is not None and moment < breach.discovered_at:
            errors[field] = _("Cette date ne peut pas précéder la découverte de la violation.")
    if errors:
        raise ValidationError(errors)
    notify = Breach.Decision.NOTIFY
    breach.cnil_decision = cnil_decision
    breach.cnil_reason = cnil_reason.strip()
    breach.cnil_notified_at = cnil_notified_at if cnil_decision == notify else None
    breach.cnil_reference = cnil_reference.strip() if cnil_decision == notify else ""
    breach.people_decision = people_decision
    breach.people_reason = people_reason.strip()
    breach.people_notified_at = people_notified_at if people_decision == notify else None
    breach.decided_at = now
    breach.state = Breach.State.OPEN
    breach.save()
    _record(
        "breach.decided",
        breach,
        actor=actor,
        details={
            **_details(breach),
            "cnil_decision": breach.cnil_decision,
            "cnil_notified_at": breach.cnil_notified_at,
            "cnil_reference": breach.cnil_reference,
            "people_decision": breach.people_decision,
            "people_notified_at": breach.people_notified_at,
            # After the deadline, the notification must say why it is late (art. 33.1).
            "late": breach.cnil_notified_at is not None
            and breach.cnil_notified_at > breach.deadline,
        },
    )
    return breach


@transaction.atomic
def breach_close(*, breach: Breach, actor: Actor, note: str, now: datetime | None = None) -> Breach:
    """Close a breach once the decision to notify is taken and recorded."""
    _require_keeper(actor)
    now = now or timezone.now()
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.state == Breach.State.CLOSED:
        raise ValidationError(_("Cette violation est déjà close."))
    if breach.cnil_decision == Breach.Decision.PENDING:
        raise ValidationError(
            _("Prenez d'abord la décision de notifier ou non la CNIL et les personnes.")
        )
    if not note.strip():
        raise ValidationError({"note": _("Indiquez le bilan de la violation avant de la clore.")})
    breach.state = Breach.State.CLOSED
    breach.closed_at = now
    breach.closing_note = note.strip()
    breach.save()
    _record(
        "breach.closed",
        breach,
        actor=actor,
        details=_details(breach),
    )
    return breach


# --- Detected by the product ---------------------------------------------------------------------


def _detected_text(detector: str, summary: str, details: dict[str, Any]) -> tuple[str, str]:
    """The draft's description and data concerned, in the DPO's words."""
    if detector == "audit.chain_broken":
        return (
            _(
                "Le contrôle du journal d'audit a échoué (premier événement en cause : n° "
                "%(seq)s) : %(summary)s. Des traces de consultation ou d'extraction ont pu être "
                "modifiées ou supprimées."
            )
            % {"seq": details.get("first_broken_seq") or "?", "summary": summary},
            _("Journal d'audit (consultations, extractions, remises, destructions)"),
        )
    if detector == "recording.integrity_failed":
        return (
            _(
                "Un segment d'enregistrement de la caméra %(camera)s (du %(start)s au %(end)s) a "
                "échoué au contrôle d'intégrité à la lecture ou à l'extraction : %(summary)s. "
                "L'objet stocké a pu être altéré ou remplacé."
            )
            % {
                "camera": details.get("camera", "?"),
                "start": _local(_parse(details.get("started_at"))),
                "end": _local(_parse(details.get("ended_at"))),
                "summary": summary,
            },
            _("Images de vidéoprotection"),
        )
    if detector == "recording.purge_refused":
        return (
            _(
                "La purge des enregistrements a refusé de s'exécuter car le stockage et l'index "
                "ne concordent pas : %(summary)s. Des images ont pu disparaître ou être conservées "
                "au-delà de leur durée."
            )
            % {"summary": summary},
            _("Images de vidéoprotection"),
        )
    if detector == "export.verification_failed":
        return (
            _(
                "Le paquet d'extraction %(package)s a échoué à sa vérification (signature ou "
                "empreintes) : %(summary)s. Des images remises ont pu être altérées."
            )
            % {"package": details.get("package", "?"), "summary": summary},
            _("Images de vidéoprotection remises à l'autorité judiciaire"),
        )
    return summary, ""


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def breach_detected(
    *, key: str, detector: str, summary: str, details: dict[str, Any], at: datetime
) -> Breach | None:
    """A draft for the DPO, unless one not yet closed already stands for the same failure."""
    if Breach.objects.filter(detection_key=key).exclude(state=Breach.State.CLOSED).exists():
        return None
    description, data_categories = _detected_text(detector, summary, details)
    try:
        with transaction.atomic():
            breach = Breach.objects.create(
                state=Breach.State.DRAFT,
                origin=Breach.Origin.DETECTED,
                detector=detector,
                detection_key=key,
                detection_details={"summary": summary, **details},
                description=description,
                data_categories=data_categories,
                discovered_at=at,
                discovered_by=_("Le CSU (contrôle d'intégrité automatique)"),
                created_at=timezone.now(),
            )
            _record(
                "breach.detected",
                breach,
                actor=DETECTOR,
                details={**_details(breach), "detector": detector, "key": key},
            )
    except IntegrityError:
        # Another process opened the same failure's draft at the same moment.
        return None
    logger.warning("breach %s opened as a draft by %s", breach.reference, detector)
    return breach


def on_integrity_failure(sender: Any, **kwargs: Any) -> None:
    """Receiver of ``audit.signals.integrity_failure``."""
    breach_detected(
        key=kwargs["key"],
        detector=kwargs["detector"],
        summary=kwargs["summary"],
        details=kwargs["details"],
        at=kwargs["at"],
    )


# --- Reminders -----------------------------------------------------------------------------------


def due_reminders(now: datetime | None = None) -> list[tuple[Breach, str]]:
    """Breaches without a decision and the most urgent reminder each is due and not yet sent."""
    now = now or timezone.now()
    due = []
    pending = Breach.objects.exclude(state=Breach.State.CLOSED).filter(
        cnil_decision=Breach.Decision.PENDING,
        # No deadline is more than 24 h away from a breach discovered more than 48 h ago.
        discovered_at__lte=now - timedelta(hours=48),
    )
    for breach in pending.order_by("discovered_at", "pk"):
        for field, hours in reversed(REMINDERS):
            if now >= breach.deadline - timedelta(hours=hours):
                if getattr(breach, field) is None:
                    due.append((breach, field))
                break
    return due


def breach_remind(*, breach: Breach, field: str, now: datetime | None = None) -> bool:
    """Send one reminder, once: claimed by a conditional update, with earlier ones it makes
    pointless. True if this call sent it."""
    now = now or timezone.now()
    fields = [name for name, _hours in REMINDERS]
    claimed_fields = fields[: fields.index(field) + 1]
    with transaction.atomic():
        claimed = (
            Breach.objects.filter(
                pk=breach.pk, cnil_decision=Breach.Decision.PENDING, **{f"{field}__isnull": True}
            )
            .exclude(state=Breach.State.CLOSED)
            .update(**{field: now})
        )
        if not claimed:
            return False
        # The earlier reminders a late run skipped are pointless now: never send them after.
        for name in claimed_fields[:-1]:
            Breach.objects.filter(pk=breach.pk, **{f"{name}__isnull": True}).update(**{name: now})
        overdue = now > breach.deadline
        _record(
            "breach.reminder",
            breach,
            actor=REMINDER,
            details={"deadline": breach.deadline, "reminder": field, "overdue": overdue},
        )
    if settings.COMPLIANCE_DPO_EMAIL:
        values = {"ref": breach.reference, "date": _local(breach.deadline)}
        subject = (
            _("Violation %(ref)s : délai de notification à la CNIL dépassé (%(date)s)")
            if overdue
            else _("Violation %(ref)s : notification à la CNIL due avant le %(date)s")
        ) % values
        body = _(
            "La violation de données %(ref)s, découverte le %(discovered)s, doit être notifiée "
            "à la CNIL au plus tard le %(date)s, soit 72 heures après sa découverte (RGPD "
            "art. 33), sauf si elle n'engendre pas de risque pour les droits et libertés des "
            "personnes. Aucune décision n'est encore consignée au registre des violations."
        ) % {**values, "discovered": _local(breach.discovered_at)}
        try:
            send_mail(subject, body, None, [settings.COMPLIANCE_DPO_EMAIL])
        except OSError:
            logger.exception("reminder of breach %s could not be mailed", breach.pk)
    return True


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return _("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}


def time_left(breach: Breach, now: datetime | None = None) -> tuple[str, bool]:
    """What the DPO reads beside the deadline, and whether it is passed without a decision."""
    if not breach.decision_pending:
        return "", False
    now = now or timezone.now()
    left = breach.deadline - now
    if left.total_seconds() > 0:
        return _("reste %(time)s") % {"time": _duration(left)}, False
    return _("dépassé de %(time)s") % {"time": _duration(-left)}, True
