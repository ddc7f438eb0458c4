"""The audit trail's pages (search, exports, detail): the DPO's, under the ``audit`` names."""

from __future__ import annotations

from django.urls import path

from compliance import audit_views

app_name = "audit"
urlpatterns = [
    path("", audit_views.event_list, name="event_list"),
    path("export.csv", audit_views.event_export_csv, name="event_export_csv"),
    path("export.pdf", audit_views.event_export_pdf, name="event_export_pdf"),
    path("<int:seq>/", audit_views.event_detail, name="event_detail"),
]
