"""Verifying the chain and signing its head."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import anchor, chain, services, signals
from audit.models import AuditEvent, AuditPrune, ChainCheckpoint, ChainVerification

#: The event that declares a step back of the anchors (a restored backup).
STEP_BACK = "audit.anchors_step_back"


@dataclass
class VerificationResult:
    events_checked: int = 0
    checkpoints_checked: int = 0
    first_broken_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    #: the newest anchor compared with the chain, if any ("#seq (where)")
    anchor: str = ""
    #: events acknowledging a step back of the anchors (a restored backup), seen on the way
    step_backs: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _signing_key():
    return chain.load_private_key(settings.AUDIT_SIGNING_KEY)


def pinned_keys() -> dict[str, Ed25519PublicKey]:
    """The only public keys a signature may come from: the current key and the previous ones."""
    keys = {
        chain.public_key_fingerprint(key): key
        for key in chain.load_public_keys(settings.AUDIT_PREVIOUS_PUBLIC_KEYS)
    }
    current = _signing_key().public_key()
    keys[chain.public_key_fingerprint(current)] = current
    return keys


def _signature_problem(
    keys: dict[str, Ed25519PublicKey], fingerprint: str, signature: str, message: bytes
) -> str | None:
    """Why a signature does not hold under the pinned keys, or None when it does."""
    key = keys.get(fingerprint)
    if key is None:
        return f"is signed by an unknown key (fingerprint {fingerprint[:16]!r})"
    try:
        key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return "has an invalid signature"
    return None


def verify_chain(*, batch_size: int = 5000) -> VerificationResult:
    """Walk every event in order: contiguous numbers, links, hashes; then the signed checkpoints.

    Every pruning and every checkpoint must be signed by a pinned key (the current signing key
    or one of ``CSU_AUDIT_PREVIOUS_PUBLIC_KEYS``). After a pruning (``audit.retention``) the
    chain starts at the pruning's signed checkpoint, whose event must carry the signed hash; the
    older events kept for their longer retention are checked one by one (each hash) and as a set
    against the pruning's signed digest. Last, the chain must reach the newest anchor written
    outside the database (``audit.anchor``) with the same hash there.
    """
    result = VerificationResult()
    keys = pinned_keys()
    # Read before the walk: a newer anchor written meanwhile cannot pass the events walked.
    unreadable_anchor = ""
    anchors: list[tuple[str, str]] = []
    try:
        newest = anchor.newest_anchor()
    except anchor.AnchorError as exc:
        newest, unreadable_anchor = None, f"the newest anchor cannot be read: {exc}"
    else:
        try:
            anchors = anchor.anchor_names()
        except anchor.AnchorError as exc:
            unreadable_anchor = f"the anchors cannot be listed: {exc}"
    prunes = list(AuditPrune.objects.select_related("checkpoint").order_by("pk"))
    reached = 0
    for pruning in prunes:
        if pruning.horizon_seq <= reached:
            result.first_broken_seq = pruning.horizon_seq
            result.problems.append(
                f"pruning #{pruning.pk} (up to event #{pruning.horizon_seq}) does not go "
                f"beyond the pruning before it (up to event #{reached})"
            )
            return result
        if not _verify_prune_row(result, keys, pruning):
            return result
        reached = pruning.horizon_seq
    prune = prunes[-1] if prunes else None
    horizon = prune.horizon_seq if prune else None
    kept_digest = hashlib.sha256()
    kept_count = 0
    kept_last = (0, chain.GENESIS)
    expected_prev = chain.GENESIS
    expected_seq: int | None = None
    hashes_at: dict[int, str] = {}
    watched_seqs = set(ChainCheckpoint.objects.values_list("seq", flat=True))
    if newest is not None:
        watched_seqs.add(newest[0].seq)
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
            # Below the horizon the chain has holes (pruned events); where two kept events
            # follow each other, or the first is #1, their link is checked all the same.
            if seq == kept_last[0] + 1 and row["prev_hash"] != kept_last[1]:
                result.first_broken_seq = seq
                result.problems.append(f"event #{seq} does not link to the event before it")
                break
            kept_last = (seq, row["hash"])
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
        if seq in watched_seqs:
            hashes_at[seq] = row["hash"]
        expected_prev = row["hash"]
        expected_seq = seq + 1
    if result.ok and prune is not None:
        _verify_prune(result, prune, kept_count, kept_digest.hexdigest(), expected_seq)
    last_seq = (expected_seq or 1) - 1
    if result.ok:
        _verify_checkpoints(result, keys, hashes_at, last_seq, horizon or 0)
    if result.ok and newest is not None:
        _verify_anchor(result, keys, *newest, hashes_at, last_seq, horizon or 0)
    if result.ok:
        _verify_anchor_order(result, anchors)
    if unreadable_anchor:
        result.problems.append(unreadable_anchor)
    return result


def _verify_prune_row(
    result: VerificationResult, keys: dict[str, Ed25519PublicKey], prune: AuditPrune
) -> bool:
    """A pruning holds when it and its checkpoint are signed by pinned keys, it is closed, and
    its ``audit.pruned`` event exists; otherwise the row is named."""
    name = f"pruning #{prune.pk} (up to event #{prune.horizon_seq})"
    checkpoint = prune.checkpoint
    problem = _signature_problem(
        keys,
        prune.key_fingerprint,
        prune.signature,
        chain.prune_message(
            prune.horizon_seq,
            checkpoint.head_hash,
            prune.kept_count,
            prune.kept_digest,
            prune.pruned_at,
        ),
    )
    if problem is None and checkpoint.seq != prune.horizon_seq:
        problem = f"does not stop at its checkpoint (event #{checkpoint.seq})"
    if problem is None:
        checkpoint_problem = _signature_problem(
            keys,
            checkpoint.key_fingerprint,
            checkpoint.signature,
            chain.checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at),
        )
        if checkpoint_problem:
            problem = f"stops at a checkpoint that {checkpoint_problem}"
    if problem is None and prune.open:
        problem = "was never closed"
    if problem is None:
        recorded = AuditEvent.objects.filter(
            action="audit.pruned",
            target_type=AuditPrune._meta.label_lower,
            target_id=str(prune.pk),
            seq__gte=prune.horizon_seq,
        )
        if not any(
            (event.get("horizon_seq"), event.get("deleted"))
            == (prune.horizon_seq, prune.deleted_count)
            for event in recorded.values_list("details", flat=True)
        ):
            problem = "has no audit.pruned event recording it"
    if problem is None:
        return True
    result.first_broken_seq = prune.horizon_seq
    result.problems.append(f"{name} {problem}")
    return False


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
    if (kept_count, kept_digest) != (prune.kept_count, prune.kept_digest):
        result.first_broken_seq = 1
        result.problems.append(
            f"events kept below the pruning horizon #{prune.horizon_seq} were removed or "
            f"altered ({kept_count} present, {prune.kept_count} signed)"
        )


def _verify_checkpoints(
    result: VerificationResult,
    keys: dict[str, Ed25519PublicKey],
    hashes_at: dict[int, str],
    last_seq: int,
    horizon: int = 0,
) -> None:
    for checkpoint in ChainCheckpoint.objects.order_by("seq", "signed_at"):
        result.checkpoints_checked += 1
        if checkpoint.seq > last_seq:
            result.first_broken_seq = last_seq + 1
            result.problems.append(
                f"the chain was truncated: checkpoint of {checkpoint.signed_at:%Y-%m-%d %H:%M} "
                f"signed event #{checkpoint.seq}, the chain now ends at #{last_seq}"
            )
            return
        message = chain.checkpoint_message(
            checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at
        )
        problem = _signature_problem(
            keys, checkpoint.key_fingerprint, checkpoint.signature, message
        )
        if problem:
            result.first_broken_seq = checkpoint.seq
            result.problems.append(
                f"checkpoint #{checkpoint.pk} of event #{checkpoint.seq} {problem}"
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


def _verify_anchor(
    result: VerificationResult,
    keys: dict[str, Ed25519PublicKey],
    newest: anchor.Anchor,
    location: str,
    hashes_at: dict[int, str],
    last_seq: int,
    horizon: int,
) -> None:
    """The chain must reach the newest anchor, with the anchored hash at its number."""
    result.anchor = f"#{newest.seq} ({location})"
    problem = _signature_problem(keys, newest.key_fingerprint, newest.signature, newest.message())
    if problem:
        result.problems.append(f"the anchor {location} {problem}")
        return
    signed = f"{newest.signed_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    if not location.replace(os.sep, "/").endswith("/" + newest.name):
        result.first_broken_seq = newest.seq
        result.problems.append(
            f"the anchor {location} does not hold what its name says: it holds event "
            f"#{newest.seq}, signed {signed}"
        )
        return
    if newest.seq > last_seq:
        result.first_broken_seq = last_seq + 1
        result.problems.append(
            f"the chain was truncated: the anchor {location} written {signed} holds event "
            f"#{newest.seq}, the chain now ends at #{last_seq}"
        )
        return
    if newest.seq >= horizon and hashes_at.get(newest.seq) != newest.head_hash:
        result.first_broken_seq = newest.seq
        result.problems.append(
            f"event #{newest.seq} differs from the one anchored in {location} at {signed}"
        )


def _verify_anchor_order(result: VerificationResult, anchors: list[tuple[str, str]]) -> None:
    """Each anchor's number is at least the one of the anchor before it; the first that goes
    backwards is named (the events after its number were cut, then the chain anchored again).

    A step back is let through only when an ``audit.anchors_step_back`` event, written between
    the two anchors and held by the chain the second one covers, declares it (a backup restored
    after an incident, see ``acknowledge_anchor_step_back``); the verification lists it.
    """
    declared = [
        (seq, details.get("newest_anchor", ""))
        for seq, details in AuditEvent.objects.filter(action=STEP_BACK).values_list(
            "seq", "details"
        )
    ]
    previous: tuple[str, str, int] | None = None
    for location, name in anchors:
        match = anchor.NAME.match(name)
        if match is None:
            result.problems.append(f"{location} is among the anchors but is not named as one")
            return
        seq = int(match[1])
        if previous is not None and seq < previous[2]:
            known = [
                event for event, newest in declared if previous[1] <= newest < name and event <= seq
            ]
            if not known:
                result.first_broken_seq = seq + 1
                result.problems.append(
                    f"the anchors went backwards: the anchor {location} holds event #{seq}, "
                    f"below #{previous[2]} held by the anchor before it ({previous[0]})"
                )
                return
            result.step_backs.append(known[0])
        previous = (location, name, seq)


@transaction.atomic
def acknowledge_anchor_step_back(*, reason: str, actor_name: str) -> AuditEvent:
    """Declare, in the chain itself, that the anchors written so far go beyond the chain (its
    database was restored from a backup): the next anchor may hold a lower number.

    Raises ValueError when there is nothing to declare or no reason is given.
    """
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required")
    anchors = anchor.anchor_names()
    if not anchors:
        raise ValueError("no anchor has been written")
    highest = max(int(m[1]) for _loc, name in anchors if (m := anchor.NAME.match(name)))
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if highest <= head:
        raise ValueError(
            f"the anchors go up to event #{highest} and the chain to #{head}: nothing to declare"
        )
    return services.record(
        STEP_BACK,
        actor_name=actor_name,
        reason=reason,
        details={
            "newest_anchor": anchors[-1][1],
            "highest_anchored_seq": highest,
            "chain_head_seq": head,
        },
    )


def verify_and_record(*, actor_name: str = "verify_audit") -> VerificationResult:
    """Verify the chain, keep the outcome as a ChainVerification row and as an event whose
    details carry the outcome signed with the audit key (what the DPO's pages believe)."""
    started = timezone.now()
    result = verify_chain()
    with transaction.atomic():
        row = ChainVerification.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            events_checked=result.events_checked,
            ok=result.ok,
            first_broken_seq=result.first_broken_seq,
            message="; ".join(result.problems),
        )
        details: dict[str, Any] = {
            "verification_id": row.pk,
            "finished_at": chain.verification_time(row.finished_at),
            "events_checked": result.events_checked,
            "ok": result.ok,
            "first_broken_seq": result.first_broken_seq,
            "problems": result.problems,
            "anchor": result.anchor,
        }
        key = _signing_key()
        details["signature"] = key.sign(chain.verification_message(details)).hex()
        details["key_fingerprint"] = chain.public_key_fingerprint(key.public_key())
        services.record(
            "audit.chain_verified" if result.ok else "audit.chain_broken",
            actor_name=actor_name,
            target=row,
            details=details,
        )
    if not result.ok:
        signals.report_integrity_failure(
            key=f"audit.chain:{result.first_broken_seq}",
            detector="audit.chain_broken",
            summary="; ".join(result.problems),
            details={
                "verification_id": row.pk,
                "first_broken_seq": result.first_broken_seq,
                "events_checked": result.events_checked,
            },
            at=row.finished_at,
        )
    return result


def verification_problem(details: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Why the outcome in a verification event's details is not to be believed, or None.

    The application's database role may append events and ChainVerification rows; only the
    signature of the audit key tells a verification that ran from one written to look like it.
    """
    if not isinstance(details, dict) or not details.get("signature"):
        return "unsigned"
    return _signature_problem(
        keys,
        str(details.get("key_fingerprint", "")),
        str(details["signature"]),
        chain.verification_message(details),
    )


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
