"""Verifying the chain and signing its head."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import chain, services
from audit.models import AuditEvent, ChainCheckpoint, ChainVerification


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
    """Walk every event in order: contiguous numbers, links, hashes; then the signed checkpoints."""
    result = VerificationResult()
    expected_prev = chain.GENESIS
    expected_seq: int | None = None
    hashes_at: dict[int, str] = {}
    checkpoint_seqs = set(ChainCheckpoint.objects.values_list("seq", flat=True))
    fields = (*chain.HASHED_FIELDS, "prev_hash", "hash")
    for row in AuditEvent.objects.order_by("seq").values(*fields).iterator(chunk_size=batch_size):
        seq = row["seq"]
        result.events_checked += 1
        if expected_seq is not None and seq != expected_seq:
            result.first_broken_seq = expected_seq
            result.problems.append(f"event #{expected_seq} is missing (next present is #{seq})")
            break
        if expected_seq is None and seq != 1:
            result.first_broken_seq = 1
            result.problems.append(f"the chain starts at #{seq}, events before it are missing")
            break
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
    last_seq = (expected_seq or 1) - 1
    if result.ok:
        _verify_checkpoints(result, hashes_at, last_seq)
    return result


def _verify_checkpoints(
    result: VerificationResult, hashes_at: dict[int, str], last_seq: int
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
