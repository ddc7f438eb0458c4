"""Log retention: events past their category's retention are pruned up to a signed checkpoint.

Consultations are kept one year, extractions, handovers and the rest three years
(``settings.AUDIT_RETENTION_DAYS``). A pruning picks the newest checkpoint signed before the
shortest retention, deletes the events numbered below it whose own retention has passed, and
keeps the checkpoint's event as the new start of the chain. The events kept below it (longer
retention) are sealed by a signed digest. ``verify_chain`` checks all of it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit import actions, chain, integrity, services
from audit.models import AuditEvent, AuditPrune, ChainCheckpoint

#: Never pruned: each pruning's own record stays, so that verify_chain can ask for it.
KEPT_FOR_EVER = frozenset({"audit.pruned"})


class PruneRefused(Exception):
    """The checkpoint to prune up to does not match the chain: nothing is deleted."""


def retention_days(category: str) -> int:
    table = settings.AUDIT_RETENTION_DAYS
    return table.get(category, max(table.values()))


def expired(at: datetime) -> Q:
    """Events whose category's retention has passed at ``at`` (unknown actions never do, nor
    the records of prunings)."""
    by_category: dict[str, list[str]] = {}
    for action in actions.all_actions():
        if action.code in KEPT_FOR_EVER:
            continue
        by_category.setdefault(action.category, []).append(action.code)
    condition = Q(pk__in=[])
    for category, codes in by_category.items():
        cutoff = at - timedelta(days=retention_days(category))
        condition |= Q(action__in=codes, occurred_at__lt=cutoff)
    return condition


def horizon_checkpoint(at: datetime) -> ChainCheckpoint | None:
    """The newest checkpoint signed with the current key before the shortest retention."""
    shortest = min(settings.AUDIT_RETENTION_DAYS.values())
    fingerprint = chain.public_key_fingerprint(integrity._signing_key().public_key())
    return (
        ChainCheckpoint.objects.filter(
            signed_at__lt=at - timedelta(days=shortest), key_fingerprint=fingerprint
        )
        .order_by("-seq", "-signed_at")
        .first()
    )


def prune(
    *, at: datetime | None = None, actor_name: str = "celery:prune_audit"
) -> AuditPrune | None:
    """Delete the expired events below the newest eligible checkpoint; None if nothing to do."""
    at = at or timezone.now()
    checkpoint = horizon_checkpoint(at)
    if checkpoint is None:
        return None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [services._CHAIN_LOCK])
        last = AuditPrune.objects.order_by("-horizon_seq").first()
        if last is not None and checkpoint.seq <= last.horizon_seq:
            return None
        _check_checkpoint(checkpoint)
        below = AuditEvent.objects.filter(seq__lt=checkpoint.seq)
        doomed = below.filter(expired(at))
        deleted = doomed.count()
        if not deleted:
            return None
        digest = hashlib.sha256()
        kept = 0
        for seq, event_hash in (
            below.exclude(pk__in=doomed.values("pk")).order_by("seq").values_list("seq", "hash")
        ):
            digest.update(chain.kept_line(seq, event_hash))
            kept += 1
        key = integrity._signing_key()
        pruned_at = timezone.now()
        kept_digest = digest.hexdigest()
        signature = key.sign(
            chain.prune_message(checkpoint.seq, checkpoint.head_hash, kept, kept_digest, pruned_at)
        )
        record = AuditPrune.objects.create(
            checkpoint=checkpoint,
            horizon_seq=checkpoint.seq,
            pruned_at=pruned_at,
            deleted_count=deleted,
            kept_count=kept,
            kept_digest=kept_digest,
            signature=signature.hex(),
            key_fingerprint=chain.public_key_fingerprint(key.public_key()),
            actor_name=actor_name[:300],
        )
        _delete_and_close(record, list(doomed.values_list("seq", flat=True)))
        record.open = False
        services.record(
            "audit.pruned",
            actor_name=actor_name,
            target=record,
            target_label=f"< #{checkpoint.seq}",
            details={
                "horizon_seq": checkpoint.seq,
                "checkpoint_signed_at": checkpoint.signed_at,
                "deleted": deleted,
                "kept_below_horizon": kept,
                "retention_days": dict(settings.AUDIT_RETENTION_DAYS),
            },
        )
    return record


def _delete_and_close(record: AuditPrune, seqs: list[int]) -> None:
    """Delete the doomed events and close the pruning row.

    On PostgreSQL the application's role may neither DELETE events nor UPDATE pruning rows
    (``audit.database_roles``): the owner's SECURITY DEFINER function ``csu_audit_prune_events``
    (migration 0004) does both, for an open pruning row only, and the triggers still check the
    horizon. SQLite has no roles: the rows are deleted directly, under the same triggers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT csu_audit_prune_events(%s, %s)", [record.pk, seqs])
            (deleted,) = cursor.fetchone()
        if deleted != len(seqs):
            raise PruneRefused(f"{deleted} events deleted instead of {len(seqs)}")
        return
    for start in range(0, len(seqs), 900):
        AuditEvent.objects.filter(seq__in=seqs[start : start + 900]).delete()
    AuditPrune.objects.filter(pk=record.pk, open=True).update(open=False)


def _check_checkpoint(checkpoint: ChainCheckpoint) -> None:
    public_key = integrity._signing_key().public_key()
    message = chain.checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at)
    try:
        public_key.verify(bytes.fromhex(checkpoint.signature), message)
    except (InvalidSignature, ValueError):
        raise PruneRefused(f"checkpoint #{checkpoint.seq} has an invalid signature") from None
    event = AuditEvent.objects.filter(seq=checkpoint.seq).values("hash").first()
    if event is None or event["hash"] != checkpoint.head_hash:
        raise PruneRefused(f"event #{checkpoint.seq} differs from its signed checkpoint")
