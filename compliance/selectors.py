"""Reads of the compliance pages, scoped by who asks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from compliance.models import AccessRequest
from compliance.roles import REQUEST_HANDLERS


def restrict(user: Any) -> QuerySet[AccessRequest]:
    """The access requests ``user`` may see: all for the DPO and supervisors, none otherwise."""
    base = AccessRequest.objects.select_related("created_by", "answered_by", "identity_checked_by")
    if not (user and user.is_authenticated and user.is_active and user.role in REQUEST_HANDLERS):
        return base.none()
    return base


def request_list(user: Any, *, status: str = "") -> QuerySet[AccessRequest]:
    requests = restrict(user).prefetch_related("footage__camera")
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("status", "deadline", "-pk")
