"""The one way to write the audit trail."""

from __future__ import annotations

import json
from typing import Any, NewType, Protocol, TypeAlias

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit import actions, chain, context
from audit.models import AuditEvent

# Arbitrary constant naming the PostgreSQL advisory lock that serializes chain appends.
_CHAIN_LOCK = 0x_C5_0A_0D_17


class Person(Protocol):
    """What the trail reads of a person who acts (accounts' user; audit imports no app above).

    Their role and full name are read when the object has them.
    """

    @property
    def pk(self) -> Any: ...

    @property
    def is_authenticated(self) -> bool: ...

    def get_username(self) -> str: ...


#: A part of the system that acts on its own, named in the trail: "purge", "recorder cam-3",
#: "manage.py load_demo". A name, not a person: it has no account, no role and no rights.
SystemActor = NewType("SystemActor", str)

#: Who performs an audited act: a person, or a named system actor.
Actor: TypeAlias = Person | SystemActor


def _actor_fields(actor: Actor | None) -> dict[str, Any]:
    if isinstance(actor, str):  # a system actor: a task, a command
        return {"actor_id": None, "actor_name": actor[:300], "actor_role": ""}
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor_id": None, "actor_name": "", "actor_role": ""}
    full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    name = actor.get_username() + (f" ({full_name})" if full_name else "")
    return {
        "actor_id": actor.pk,
        "actor_name": name[:300],
        "actor_role": getattr(actor, "role", ""),
    }


def _target_fields(
    target: Any, target_type: str, target_id: Any, target_label: str
) -> dict[str, str]:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id if target_id not in (None, "") else target.pk
        target_label = target_label or str(target)
    return {
        "target_type": target_type[:64],
        "target_id": "" if target_id is None else str(target_id)[:64],
        "target_label": target_label[:300],
    }


def lock_chain() -> None:
    """Take the chain's lock now, at the start of a transaction that will lock rows and record.

    ``record`` takes it anyway, but only when it is called: a transaction that first locks rows
    (SELECT ... FOR UPDATE) and then records could wait for the chain while another, already
    holding the chain, waits for those rows. Taking the chain first gives every writer the same
    lock order. The lock lasts until the end of the transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])


def record(
    action: str,
    *,
    actor: Actor | None = None,
    actor_name: str = "",
    target: Any = None,
    target_type: str = "",
    target_id: Any = None,
    target_label: str = "",
    reason: str = "",
    recipient: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    Called from within the action's own transaction, so that the action and its trace commit or
    roll back together. ``actor`` is a user, or a string naming a system actor (a task, a
    command); ``actor_name`` names the system actor when ``actor`` is None.
    """
    actions.get(action)  # refuse unregistered actions
    request = context.current()
    # Normalise details through JSON so that what is hashed is exactly what is stored.
    clean_details = json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))
    fields: dict[str, Any] = {
        **_actor_fields(actor),
        **_target_fields(target, target_type, target_id, target_label),
        "occurred_at": timezone.now(),
        "ip": request.ip,
        "user_agent": request.user_agent,
        "request_id": request.request_id,
        "action": action,
        "reason": reason,
        "recipient": recipient[:300],
        "details": clean_details,
    }
    if actor_name and not fields["actor_name"]:
        fields["actor_name"] = actor_name[:300]
    with transaction.atomic():
        lock_chain()  # SQLite needs none: IMMEDIATE transactions already serialize writers.
        head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        fields["seq"] = head["seq"] + 1 if head else 1
        prev_hash = head["hash"] if head else chain.GENESIS
        event = AuditEvent(**fields, prev_hash=prev_hash, hash=chain.event_hash(prev_hash, fields))
        event.save(force_insert=True)
    return event
