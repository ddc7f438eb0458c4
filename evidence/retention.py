"""The retention schedule of requisitions and their scans (``audit.records``).

A finished requisition (refused, closed, cancelled, expired) is anonymised once its period has
run from its end: the facts, the justification, the magistrate's reasons and the procedure
number are erased, the scanned requisition is deleted from the store and the procès-verbaux de
remise are dropped (their SHA-256 stays in the handover register); the row keeps its dates,
status, officer's service, windows and the scan's SHA-256, so that the statistics and the
registers of its year stay whole. A requisition still in course is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.records import Counts, RecordKind, register
from audit.services import Actor
from evidence import attachments
from evidence.models import FINISHED, DownloadLink, Requisition

REQUISITIONS = "requisitions"


def requisitions_due(cutoff: datetime) -> QuerySet[Requisition]:
    """Finished before ``cutoff`` (or decided, or submitted, when no end was noted)."""
    return (
        Requisition.objects.filter(status__in=FINISHED, anonymised_at__isnull=True)
        .annotate(ended=Coalesce("finished_at", "decided_at", "submitted_at"))
        .filter(ended__lt=cutoff)
        .order_by("pk")
    )


def purge_requisitions(cutoff: datetime, actor: Actor) -> Counts:
    now = timezone.now()
    done = 0
    for requisition in requisitions_due(cutoff).select_for_update(of=("self",)):
        path = requisition.attachment_path
        updated = Requisition.objects.filter(pk=requisition.pk, anonymised_at__isnull=True).update(
            procedure_number=f"effacé-{requisition.pk}",
            facts="",
            justification="",
            decision_reason="",
            attachment_name="",
            attachment_path=f"effacé/{requisition.pk}",
            attachment_key_id="",
            attachment_key=b"",
            anonymised_at=now,
        )
        if updated:
            done += 1
            # The procès-verbal de remise repeats the procedure number and the officer's words:
            # it goes with them; its SHA-256 stays in the handover register.
            DownloadLink.objects.filter(
                export__requisition=requisition, handover_record__isnull=False
            ).update(handover_record=None)
            # The scan goes once the erasure is committed: a rollback keeps both.
            transaction.on_commit(_deleter(path))
    return Counts(anonymised=done)


def _deleter(path: str) -> Callable[[], None]:
    def delete() -> None:
        attachments.delete(path)

    return delete


def register_kinds() -> None:
    register(
        RecordKind(
            slug=REQUISITIONS,
            label=_("Réquisitions judiciaires et leurs pièces numérisées"),
            source=_(
                "Code de procédure pénale art. 8 : six ans de prescription de l'action publique "
                "des délits, pendant lesquels la régularité de la remise des images peut être "
                "discutée ; une réquisition en cours n'est jamais effacée."
            ),
            treatment=_(
                "anonymisées : faits, justification, motifs, numéro de procédure, pièce "
                "numérisée et procès-verbaux de remise effacés ; dates, état et fenêtres "
                "conservés pour les statistiques"
            ),
            purge=purge_requisitions,
            order=30,
        )
    )
