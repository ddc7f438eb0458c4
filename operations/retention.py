"""The retention schedule of the operators' records (``audit.records``).

Signalements are anonymised past their period: the place, the description and the follow-up
notes (what says who was there) are erased; the row keeps its number, category, times and
outcome, so that the statistics of its year do not move. A signalement linked to a requisition
still in course is kept whole. Shifts lose the operator's name and the closing reason but keep
their times (active hours); planned rota slots are deleted.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.records import Counts, RecordKind, register
from audit.services import Actor
from csu.lib import fieldlog
from evidence.models import FINISHED, Status
from operations.models import FollowUpNote, RotaSlot, Shift, Signalement

SIGNALEMENTS = "signalements"
SHIFTS = "shifts"


def signalements_due(cutoff: datetime):
    """Closed before ``cutoff``, not yet anonymised, linked to no requisition in course."""
    return (
        Signalement.objects.filter(closed_at__lt=cutoff, anonymised_at__isnull=True)
        .exclude(requisition_links__requisition__status__in=_in_course())
        .order_by()
    )


def _in_course() -> list[str]:
    return [status for status in Status.values if status not in FINISHED]


def purge_signalements(cutoff: datetime, actor: Actor) -> Counts:
    pks = list(signalements_due(cutoff).values_list("pk", flat=True))
    if not pks:
        return Counts()
    notes = FollowUpNote.objects.filter(signalement_id__in=pks).delete()[0]
    anonymised = Signalement.objects.filter(pk__in=pks, anonymised_at__isnull=True).update(
        location="", description="", anonymised_at=timezone.now()
    )
    fieldlog.forget(Signalement, pks)
    return Counts(deleted=notes, anonymised=anonymised)


def purge_shifts(cutoff: datetime, actor: Actor) -> Counts:
    anonymised = Shift.objects.filter(ended_at__lt=cutoff, operator__isnull=False).update(
        operator=None, closed_by=None, close_reason=""
    )
    deleted = RotaSlot.objects.filter(ends_at__lt=cutoff).delete()[0]
    return Counts(deleted=deleted, anonymised=anonymised)


def register_kinds() -> None:
    register(
        RecordKind(
            slug=SIGNALEMENTS,
            label=_("Signalements (main courante de la salle)"),
            source=_(
                "Aucun texte ne fixe de durée ; RGPD art. 5.1.e. Trois ans après la clôture : "
                "le rapport annuel compare l'année aux deux précédentes ; un signalement lié "
                "à une réquisition en cours est conservé tant qu'elle dure."
            ),
            treatment=_(
                "anonymisés : lieu, description et notes de suivi effacés ; numéro, catégorie, "
                "dates et suite donnée conservés pour les statistiques"
            ),
            purge=purge_signalements,
            order=10,
        )
    )
    register(
        RecordKind(
            slug=SHIFTS,
            label=_("Vacations et planning des opérateurs"),
            source=_(
                "Loi n° 68-1250 du 31 décembre 1968 (prescription quadriennale des créances "
                "sur la commune, dont les heures de nuit et de dimanche des agents, comptée du "
                "1er janvier suivant) : cinq ans ; RGPD art. 5.1.e."
            ),
            treatment=_(
                "vacations anonymisées (nom de l'opérateur et motif de clôture effacés, heures "
                "conservées pour les heures d'activité) ; créneaux du planning supprimés"
            ),
            purge=purge_shifts,
            order=20,
        )
    )
