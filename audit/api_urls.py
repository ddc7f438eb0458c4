from __future__ import annotations

from django.urls import path

from audit import api

urlpatterns = [
    path("audit/events/", api.AuditEventList.as_view(), name="audit-events"),
    path("audit/chain/", api.ChainState.as_view(), name="audit-chain"),
]
