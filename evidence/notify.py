"""The requesting officer is told of each step of his requisition: home page and e-mail.
The magistrates and the supervisors are told of a requisition left undecided past its deadline.

The home page reads the steps back from the audit trail (``officer_news``). The e-mail goes
only when the city has set up a mail server (``CSU_EMAIL_HOST``), after the change commits;
it names the requisition and its new state, never a file, an image or a secret.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from audit import actions
from audit.models import AuditEvent
from csu.lib.times import paris_text
from evidence.models import Requisition

logger = logging.getLogger(__name__)

#: The steps an officer is told about on his home page.
NEWS_ACTIONS = (
    "requisition.under_review",
    "requisition.approved",
    "requisition.partly_approved",
    "requisition.rejected",
    "requisition.expired",
    "requisition.escalated",
    "requisition.closed",
    "export.started",
    "export.ready",
    "export.failed",
    "export.link_issued",
    "export.downloaded",
)


def status_changed(requisition: Requisition, label: str | Promise) -> None:
    """E-mail the requesting officer once the current transaction commits (if mail is set up)."""
    if not settings.EMAIL_HOST:
        return
    officer = requisition.officer
    if not officer.email or not officer.is_active:
        return
    reference, pk, email = requisition.reference, requisition.pk, officer.email
    procedure = requisition.procedure_number
    when = paris_text(timezone.now())

    def send() -> None:
        with translation.override("fr"):
            subject = _("Réquisition %(ref)s : %(state)s") % {"ref": reference, "state": label}
            body = _(
                "Votre réquisition %(ref)s (procédure %(proc)s) : %(state)s, le %(when)s "
                "(heure de Paris).\n\nConsultez-la dans l'application du centre de supervision "
                "urbain : %(url)s\n\nCe message ne contient aucune image ; le téléchargement se "
                "fait depuis la page de la réquisition, après connexion avec votre second "
                "facteur."
            ) % {
                "ref": reference,
                "proc": procedure,
                "state": label,
                "when": when,
                "url": settings.EVIDENCE_SITE_URL.rstrip("/")
                + reverse("evidence:requisition_detail", args=[pk]),
            }
        try:
            send_mail(subject, body, None, [email])
        except OSError as exc:  # the page still tells him; the mail server's failure is logged
            logger.warning("requisition %s: notification not sent (%s)", pk, exc)

    transaction.on_commit(send)


def decision_overdue(requisition: Requisition, *, days: int, first: bool) -> None:
    """E-mail the active magistrates and supervisors, once the current transaction commits, that
    ``requisition`` awaits a decision past its deadline (``first``) or still does (a reminder).

    The magistrates get the link to decide; the supervisors, who keep its footage held and may
    not read an undecided requisition, get its reference only. Nothing of the file is sent.
    """
    if not settings.EMAIL_HOST:
        return
    people = User.objects.filter(
        is_active=True, role__in=[Role.MAGISTRATE, Role.SUPERVISOR]
    ).exclude(email="")
    recipients: dict[str, list[str]] = {Role.MAGISTRATE: [], Role.SUPERVISOR: []}
    for role, email in people.values_list("role", "email"):
        recipients[role].append(email)
    reference, pk = requisition.reference, requisition.pk
    submitted = paris_text(requisition.submitted_at)
    url = settings.EVIDENCE_SITE_URL.rstrip("/") + reverse("evidence:requisition_detail", args=[pk])

    def send() -> None:
        with translation.override("fr"):
            if first:
                subject = _("Réquisition %(ref)s : aucune décision dans le délai") % {
                    "ref": reference
                }
            else:
                subject = _("Rappel : réquisition %(ref)s toujours sans décision") % {
                    "ref": reference
                }
            body = _(
                "La réquisition %(ref)s, déposée le %(when)s (heure de Paris), attend une "
                "décision du magistrat depuis %(days)s jours. Les images demandées restent "
                "gelées jusqu'à sa décision ou son annulation ; un rappel suivra tous les "
                "%(every)s jours.\n\nCe message ne contient aucun élément de la procédure."
            ) % {
                "ref": reference,
                "when": submitted,
                "days": days,
                "every": settings.EVIDENCE_REMINDER_DAYS,
            }
            to_decide = _("Décider : %(url)s") % {"url": url}
        for role, emails in recipients.items():
            if not emails:
                continue
            text = body + ("\n\n" + to_decide if role == Role.MAGISTRATE else "")
            try:
                send_mail(subject, text, None, emails)
            except OSError as exc:  # the audit trail still says it; the failure is logged
                logger.warning("requisition %s: overdue notice not sent (%s)", pk, exc)

    transaction.on_commit(send)


def officer_news(user: Any, *, days: int = 30, limit: int = 10) -> list[dict[str, Any]]:
    """The latest steps of the requisitions ``user`` submitted, newest first, for his home."""
    if not (user.is_authenticated and user.role == Role.OPJ):
        return []
    mine = {
        str(pk): r
        for pk, r in (
            (r.pk, r) for r in Requisition.objects.filter(officer=user).only("pk", "submitted_at")
        )
    }
    if not mine:
        return []
    events = AuditEvent.objects.filter(
        target_type=Requisition._meta.label_lower,
        target_id__in=list(mine),
        action__in=NEWS_ACTIONS,
        occurred_at__gte=timezone.now() - timedelta(days=days),
    ).order_by("-seq")[:limit]
    news = []
    for event in events:
        requisition = mine[event.target_id]
        news.append(
            {
                "at": event.occurred_at,
                "label": str(actions.get(event.action).label),
                "reference": requisition.reference,
                "url": reverse("evidence:requisition_detail", args=[requisition.pk]),
            }
        )
    return news
