"""The audit trail's API: events (filtered) and the chain's state."""

from __future__ import annotations

from django.urls import path

from compliance import audit_api

urlpatterns = [
    path("audit/events/", audit_api.AuditEventList.as_view(), name="audit-events"),
    path("audit/chain/", audit_api.ChainState.as_view(), name="audit-chain"),
]
