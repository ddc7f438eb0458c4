from __future__ import annotations

import logging

from celery import shared_task

from audit import anchor, integrity, records, retention

logger = logging.getLogger(__name__)


@shared_task(name="audit.tasks.sign_chain_head")
def sign_chain_head() -> int:
    checkpoint = integrity.sign_chain_head(actor_name="celery:sign_chain_head")
    logger.info("audit chain head #%s signed", checkpoint.seq)
    return checkpoint.seq


@shared_task(name="audit.tasks.anchor_chain_head")
def anchor_chain_head() -> int:
    """Write the signed head outside the database (audit.anchor); 0 while the chain is empty."""
    written = anchor.write_anchor()
    if written is None:
        return 0
    logger.info("audit chain head #%s anchored in %s", written[0].seq, written[1])
    return written[0].seq


@shared_task(name="audit.tasks.verify_chain")
def verify_chain() -> bool:
    result = integrity.verify_and_record(actor_name="celery:verify_chain")
    if not result.ok:
        logger.error("audit chain broken: %s", "; ".join(result.problems))
    return result.ok


@shared_task(name="audit.tasks.prune_audit_events")
def prune_audit_events() -> int:
    pruned = retention.prune()
    return pruned.deleted_count if pruned else 0


@shared_task(name="audit.tasks.purge_records")
def purge_records() -> dict[str, list[int]]:
    """The retention schedule of the application's records: one register entry per kind."""
    return {entry.kind: [entry.deleted, entry.anonymised] for entry in records.purge_all()}
