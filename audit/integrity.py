"""Verifying the chain and signing its head."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import chain, services
from audit.models import AuditEvent, AuditPrune, ChainCheckpoint, ChainVerification


@dataclass
class VerificationResult:
    events_checked: int = 0
    checkpoints_checked: int = 0
    first_broken_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _signing_key():
    return chain.load_private_key(settings.AUDIT_SIGNING_KEY)


def verify_chain(*, batch_size: int = 5000) -> VerificationResult:
    """Walk every event in order: contiguous numbers, links, hashes; then the signed checkpoints.

    After a pruning (``audit.retention``) the chain starts at the pruning's signed checkpoint,
    whose event must carry the signed hash; the older events kept for their longer retention
    are checked one by one (each hash) and as a set against the pruning's signed digest.
    """
    result = VerificationResult()
    prune = AuditPrune.objects.select_related("checkpoint").order_by("-horizon_seq").first()
    horizon = prune.horizon_seq if prune else None
    kept_digest = hashlib.sha256()
    kept_count = 0
    expected_prev = chain.GENESIS
    expected_seq: int | None = None
    hashes_at: dict[int, str] = {}
    checkpoint_seqs = set(ChainCheckpoint.objects.values_list("seq", flat=True))
    fields = (*chain.HASHED_FIELDS, "prev_hash", "hash")
    for row in AuditEvent.objects.order_by("seq").values(*fields).iterator(chunk_size=batch_size):
        seq = row["seq"]
        result.events_checked += 1
        if horizon is not None and seq < horizon:
            if chain.event_hash(row["prev_hash"], row) != row["hash"]:
                result.first_broken_seq = seq
                result.problems.append(
                    f"event #{seq} was altered: its content no longer matches its hash"
                )
                break
            kept_digest.update(chain.kept_line(seq, row["hash"]))
            kept_count += 1
            continue
        if expected_seq is not None and seq != expected_seq:
            result.first_broken_seq = expected_seq
            result.problems.append(f"event #{expected_seq} is missing (next present is #{seq})")
            break
        if expected_seq is None:
            first = horizon or 1
            if seq != first:
                result.first_broken_seq = first
                result.problems.append(f"the chain starts at #{seq}, events before it are missing")
                break
            if prune is not None:
                if row["hash"] != prune.checkpoint.head_hash:
                    result.first_broken_seq = seq
                    result.problems.append(
                        f"event #{seq} differs from the signed checkpoint the pruning kept"
                    )
                    break
                expected_prev = row["prev_hash"]
        if row["prev_hash"] != expected_prev:
            result.first_broken_seq = seq
            result.problems.append(f"event #{seq} does not link to the event before it")
            break
        if chain.event_hash(row["prev_hash"], row) != row["hash"]:
            result.first_broken_seq = seq
            result.problems.append(
                f"event #{seq} was altered: its content no longer matches its hash"
            )
            break
        if seq in checkpoint_seqs:
            hashes_at[seq] = row["hash"]
        expected_prev = row["hash"]
        expected_seq = seq + 1
    if result.ok and prune is not None:
        _verify_prune(result, prune, kept_count, kept_digest.hexdigest(), expected_seq)
    last_seq = (expected_seq or 1) - 1
    if result.ok:
        _verify_checkpoints(result, hashes_at, last_seq, horizon or 0)
    return result


def _verify_prune(
    result: VerificationResult,
    prune: AuditPrune,
    kept_count: int,
    kept_digest: str,
    expected_seq: int | None,
) -> None:
    if expected_seq is None:
        result.first_broken_seq = prune.horizon_seq
        result.problems.append(
            f"the chain was truncated: the pruning kept event #{prune.horizon_seq}, it is gone"
        )
        return
    public_key = _signing_key().public_key()
    if prune.key_fingerprint == chain.public_key_fingerprint(public_key):
        message = chain.prune_message(
            prune.horizon_seq,
            prune.checkpoint.head_hash,
            prune.kept_count,
            prune.kept_digest,
            prune.pruned_at,
        )
        try:
            public_key.verify(bytes.fromhex(prune.signature), message)
        except (InvalidSignature, ValueError):
            result.problems.append(
                f"the pruning up to event #{prune.horizon_seq} has an invalid signature"
            )
            return
    if (kept_count, kept_digest) != (prune.kept_count, prune.kept_digest):
        result.first_broken_seq = 1
        result.problems.append(
            f"events kept below the pruning horizon #{prune.horizon_seq} were removed or "
            f"altered ({kept_count} present, {prune.kept_count} signed)"
        )


def _verify_checkpoints(
    result: VerificationResult, hashes_at: dict[int, str], last_seq: int, horizon: int = 0
) -> None:
    public_key = _signing_key().public_key()
    fingerprint = chain.public_key_fingerprint(public_key)
    for checkpoint in ChainCheckpoint.objects.order_by("seq", "signed_at"):
        result.checkpoints_checked += 1
        if checkpoint.seq > last_seq:
            result.first_broken_seq = last_seq + 1
            result.problems.append(
                f"the chain was truncated: checkpoint of {checkpoint.signed_at:%Y-%m-%d %H:%M} "
                f"signed event #{checkpoint.seq}, the chain now ends at #{last_seq}"
            )
            return
        if checkpoint.key_fingerprint != fingerprint:
            # Signed by a previous key: its signature cannot be checked with the current one.
            continue
        message = chain.checkpoint_message(
            checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at
        )
        try:
            public_key.verify(bytes.fromhex(checkpoint.signature), message)
        except (InvalidSignature, ValueError):
            result.problems.append(
                f"checkpoint of event #{checkpoint.seq} has an invalid signature"
            )
            return
        if checkpoint.seq < horizon:
            continue  # its event was pruned; the signature above still stands
        if checkpoint.seq and hashes_at.get(checkpoint.seq) != checkpoint.head_hash:
            result.first_broken_seq = checkpoint.seq
            result.problems.append(
                f"event #{checkpoint.seq} differs from the one signed on "
                f"{checkpoint.signed_at:%Y-%m-%d %H:%M}"
            )
            return


def verify_and_record(*, actor_name: str = "verify_audit") -> VerificationResult:
    started = timezone.now()
    result = verify_chain()
    with transaction.atomic():
        ChainVerification.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            events_checked=result.events_checked,
            ok=result.ok,
            first_broken_seq=result.first_broken_seq,
            message="; ".join(result.problems),
        )
        services.record(
            "audit.chain_verified" if result.ok else "audit.chain_broken",
            actor_name=actor_name,
            details={
                "events_checked": result.events_checked,
                "first_broken_seq": result.first_broken_seq,
                "problems": result.problems,
            },
        )
    return result


@transaction.atomic
def sign_chain_head(*, actor_name: str = "scheduler") -> ChainCheckpoint:
    """Record a signing event, then sign the head it makes: the signature covers itself too."""
    services.record("audit.chain_signed", actor_name=actor_name)
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    assert head is not None  # the event just written
    key = _signing_key()
    signed_at = timezone.now()
    signature = key.sign(chain.checkpoint_message(head["seq"], head["hash"], signed_at))
    return ChainCheckpoint.objects.create(
        seq=head["seq"],
        head_hash=head["hash"],
        signed_at=signed_at,
        signature=signature.hex(),
        key_fingerprint=chain.public_key_fingerprint(key.public_key()),
    )
