from __future__ import annotations

from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.requisition_list, name="requisition_list"),
    path("nouvelle/", views.requisition_create, name="requisition_create"),
    path("registres/", views.registers, name="registers"),
    path("<int:pk>/", views.requisition_detail, name="requisition_detail"),
    path("<int:pk>/piece/", views.requisition_attachment, name="requisition_attachment"),
    path("<int:pk>/decision/", views.requisition_decision, name="requisition_decision"),
    path("<int:pk>/annulation/", views.requisition_cancel, name="requisition_cancel"),
    path("<int:pk>/extraction/", views.export_start, name="export_start"),
    path("<int:pk>/liberation/", views.export_release, name="export_release"),
    path("<int:pk>/nouveau-lien/", views.link_reissue, name="link_reissue"),
    path("<int:pk>/extraction/sequences/<int:index>/", views.export_clip, name="export_clip"),
    path("<int:pk>/examen/", views.requisition_review, name="requisition_review"),
    path("<int:pk>/telechargement/", views.download, name="download"),
    path(
        "<int:pk>/remise/<int:link_pk>/proces-verbal/",
        views.handover_record,
        name="handover_record",
    ),
    path(
        "<int:pk>/remise/<int:link_pk>/proces-verbal.sig",
        views.handover_record_signature,
        name="handover_record_signature",
    ),
]
