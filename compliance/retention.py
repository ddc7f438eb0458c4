"""The retention schedule of access requests and their identity data (``audit.records``).

An answered or refused access request is anonymised once its period has run from the answer:
the requester's name, birth date, e-mail, address, identity document number, self-description
and the text of the answer are erased; the row keeps its dates, cameras, outcome and refusal
ground for the yearly counts. An open request is never touched.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.records import Counts, RecordKind, register
from audit.services import Actor
from compliance.models import AccessRequest

ACCESS_REQUESTS = "access_requests"


def access_requests_due(cutoff: datetime) -> QuerySet[AccessRequest]:
    return AccessRequest.objects.exclude(status=AccessRequest.Status.OPEN).filter(
        answered_at__lt=cutoff, anonymised_at__isnull=True
    )


def purge_access_requests(cutoff: datetime, actor: Actor) -> Counts:
    anonymised = access_requests_due(cutoff).update(
        requester_last_name="",
        requester_first_name="",
        requester_birth_date=None,
        requester_email="",
        requester_address="",
        identity_document_ref="",
        description="",
        place="",
        answer_text="",
        anonymised_at=timezone.now(),
    )
    return Counts(anonymised=anonymised)


def register_kinds() -> None:
    register(
        RecordKind(
            slug=ACCESS_REQUESTS,
            label=_("Demandes d'accès aux images et données d'identité des demandeurs"),
            source=_(
                "Aucun texte ne fixe de durée ; RGPD art. 5.1.e et 5.2 (preuve de la réponse). "
                "Trois ans après la réponse : le délai pendant lequel une réclamation sur la "
                "réponse reste vraisemblable ; une demande en cours n'est jamais effacée."
            ),
            treatment=_(
                "anonymisées : nom, prénom, date de naissance, courriel, adresse, numéro du "
                "justificatif, description et texte de la réponse effacés ; dates et réponse "
                "conservées pour les comptes annuels"
            ),
            purge=purge_access_requests,
            order=40,
        )
    )
