"""Reading the audit trail with the DPO's filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from audit.models import AuditEvent


def search_events(
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    reason: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.order_by("-seq")
    if actor:
        events = events.filter(actor_name__icontains=actor)
    if action:
        events = events.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if target:
        events = events.filter(Q(target_label__icontains=target) | Q(target_id=target))
    if reason:
        events = events.filter(reason__icontains=reason)
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lt=until)
    return events


def filters_from(data: Any) -> dict[str, Any]:
    """The search arguments present in validated form or serializer data."""
    keys = ("actor", "action", "target", "reason", "since", "until")
    return {k: data[k] for k in keys if data.get(k) not in (None, "")}
