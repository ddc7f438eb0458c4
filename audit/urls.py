from __future__ import annotations

from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("export.csv", views.event_export_csv, name="event_export_csv"),
    path("export.pdf", views.event_export_pdf, name="event_export_pdf"),
    path("<int:seq>/", views.event_detail, name="event_detail"),
]
