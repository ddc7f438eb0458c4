"""The retention schedule of accounts' records (``audit.records``): the habilitations of people
who have left, and the sign-in records of the lockout (django-axes).

A departed person's habilitation (account deactivated) is deleted once its period has run from
its end (withdrawal or expiry), with its change history; one that a kept viewing session still
names stays as long as that session, which it justifies. Sign-in records (attempts, failures,
sessions) are deleted past theirs; the sign-in events of the audit trail follow the trail's own
retention (``audit.retention``).
"""

from __future__ import annotations

from datetime import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Habilitation
from audit.records import Counts, RecordKind, register
from audit.services import Actor
from csu.lib import fieldlog

HABILITATIONS = "habilitations"
SIGN_INS = "sign_ins"


def habilitations_due(cutoff: datetime) -> QuerySet[Habilitation]:
    """Of deactivated accounts, ended (withdrawn or expired) before ``cutoff``."""
    ended = Q(revoked_at__lt=cutoff) | Q(valid_until__lt=cutoff.date())
    return Habilitation.objects.filter(ended, user__is_active=False).order_by("pk")


def purge_habilitations(cutoff: datetime, actor: Actor) -> Counts:
    deleted = 0
    for pk in habilitations_due(cutoff).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                Habilitation.objects.filter(pk=pk).delete()
        except ProtectedError:  # named by a viewing session still kept: it proves the right
            continue
        fieldlog.forget(Habilitation, [pk])
        deleted += 1
    return Counts(deleted=deleted)


def purge_sign_ins(cutoff: datetime, actor: Actor) -> Counts:
    deleted = 0
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        deleted += model.objects.filter(attempt_time__lt=cutoff).delete()[0]
    return Counts(deleted=deleted)


def register_kinds() -> None:
    register(
        RecordKind(
            slug=HABILITATIONS,
            label=_("Habilitations des personnes parties"),
            source=_(
                "CSI L252-2 et L252-3 (seules des personnes habilitées voient les images) : "
                "l'habilitation est gardée aussi longtemps que les plus longues traces d'accès "
                "du journal (trois ans), pour pouvoir montrer que chaque accès était permis."
            ),
            treatment=_("supprimées, avec l'historique de leurs modifications"),
            purge=purge_habilitations,
            order=50,
        )
    )
    register(
        RecordKind(
            slug=SIGN_INS,
            label=_("Traces de connexion (tentatives, échecs, verrouillages)"),
            source=_(
                "CNIL, délibération n° 2021-122 (recommandation sur la journalisation) : six "
                "mois à un an ; un an, comme les connexions du journal d'audit."
            ),
            treatment=_("supprimées"),
            purge=purge_sign_ins,
            order=60,
        )
    )
