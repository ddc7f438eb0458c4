"""The retention schedule of the application's own records, and its enforcement.

Each app declares, in its ``AppConfig.ready``, the kinds of record it keeps about people
(signalements, shifts, requisitions, access requests...): how long after their end they are
kept, on which legal ground, and the function that deletes or anonymises those past their
period. ``purge_all`` runs every kind once, each in its own transaction, and leaves a
``RecordPurge`` row and an audit event per kind: the register of the data destroyed.

A kind's purge never touches a record that a procedure in course still needs (a requisition
not finished, an access request not answered); it decides that itself, since only its app
knows the links. Rows that the statistics count are kept with their personal fields emptied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise

from audit.models import RecordPurge
from audit.services import Actor, SystemActor, record

SYSTEM_ACTOR = SystemActor("celery:purge_records")


@dataclass(frozen=True)
class Counts:
    """What one purge did: rows deleted, rows kept with their personal fields emptied."""

    deleted: int = 0
    anonymised: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.deleted + other.deleted, self.anonymised + other.anonymised)


#: ``purge(cutoff, actor)``: treat the records of the kind that ended before ``cutoff``.
Purge = Callable[[datetime, Actor], Counts]


@dataclass(frozen=True)
class RecordKind:
    slug: str
    label: str | Promise
    #: The legal ground of the period, or why it was chosen where no text gives one.
    source: str | Promise
    #: What happens at the end of the period, in plain French ("supprimées", "anonymisées"...).
    treatment: str | Promise
    purge: Purge
    order: int = 100

    def days(self) -> int:
        """The period, from ``RECORD_RETENTION_DAYS`` under the kind's slug: read when asked,
        so that a changed setting is followed without a restart of the schedule."""
        return int(settings.RECORD_RETENTION_DAYS[self.slug])


_KINDS: dict[str, RecordKind] = {}


def register(kind: RecordKind) -> RecordKind:
    existing = _KINDS.get(kind.slug)
    if existing is not None and existing != kind:
        raise ValueError(f"record kind {kind.slug!r} registered twice with different meanings")
    _KINDS[kind.slug] = kind
    return kind


def kinds() -> list[RecordKind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.slug))


def get(slug: str) -> RecordKind:
    return _KINDS[slug]


def cutoff(kind: RecordKind, at: datetime) -> datetime:
    return at - timedelta(days=kind.days())


def purge_kind(
    kind: RecordKind, *, at: datetime | None = None, actor: Actor = SYSTEM_ACTOR
) -> RecordPurge:
    """Run one kind's purge at ``at`` and write its register entry and audit event."""
    at = at or timezone.now()
    limit = cutoff(kind, at)
    actor_name = actor if isinstance(actor, str) else actor.get_username()
    with transaction.atomic():
        counts = kind.purge(limit, actor)
        entry = RecordPurge.objects.create(
            ran_at=timezone.now(),
            kind=kind.slug,
            days=kind.days(),
            cutoff=limit,
            deleted=counts.deleted,
            anonymised=counts.anonymised,
            actor_name=actor_name[:300],
        )
        record(
            "audit.records_purged",
            actor=actor,
            target=entry,
            target_label=str(kind.label),
            details={
                "kind": kind.slug,
                "days": entry.days,
                "cutoff": limit,
                "deleted": counts.deleted,
                "anonymised": counts.anonymised,
            },
        )
    return entry


def purge_all(*, at: datetime | None = None, actor: Actor = SYSTEM_ACTOR) -> list[RecordPurge]:
    """Every kind once, in the schedule's order, each in its own transaction: a failure stops
    the run with the kinds before it done, and the next run takes up the rest."""
    at = at or timezone.now()
    return [purge_kind(kind, at=at, actor=actor) for kind in kinds()]
