from __future__ import annotations

from django.urls import path

from compliance import views

app_name = "compliance"
urlpatterns = [
    path("", views.index, name="index"),
    path("registres/<slug:slug>/", views.register, name="register"),
    path("dossier-de-controle/", views.audit_pack, name="audit_pack"),
    path("demandes-acces/", views.request_list, name="request_list"),
    path("demandes-acces/nouvelle/", views.request_create, name="request_create"),
    path("demandes-acces/<int:pk>/", views.request_detail, name="request_detail"),
    path("demandes-acces/<int:pk>/reponse/", views.request_answer, name="request_answer"),
    path(
        "demandes-acces/<int:pk>/extrait/<str:camera>/",
        views.extract_build,
        name="extract_build",
    ),
    path(
        "demandes-acces/<int:pk>/extrait/<str:camera>/zones/",
        views.extract_areas,
        name="extract_areas",
    ),
    path(
        "demandes-acces/<int:pk>/extrait/<str:camera>/image.jpg",
        views.extract_frame,
        name="extract_frame",
    ),
    path(
        "demandes-acces/<int:pk>/extrait/<str:camera>/validation/",
        views.extract_release,
        name="extract_release",
    ),
    path(
        "demandes-acces/<int:pk>/extrait/<str:camera>/telecharger/",
        views.extract_download,
        name="extract_download",
    ),
    path("violations/", views.breach_list, name="breach_list"),
    path("violations/nouvelle/", views.breach_create, name="breach_create"),
    path("violations/<int:pk>/", views.breach_detail, name="breach_detail"),
    path("violations/<int:pk>/modifier/", views.breach_edit, name="breach_edit"),
    path("violations/<int:pk>/decision/", views.breach_decide, name="breach_decide"),
    path("violations/<int:pk>/cloture/", views.breach_close, name="breach_close"),
]
urlpatterns += [
    path("registre-des-traitements/", views.processing_record, name="processing_record"),
    path(
        "registre-des-traitements/publier/",
        views.processing_record_publish,
        name="processing_record_publish",
    ),
    path(
        "registre-des-traitements/versions/<int:version>/<str:output>/",
        views.processing_record_version,
        name="processing_record_version",
    ),
    path("analyse-impact/", views.impact_assessments, name="impact_assessments"),
    path(
        "analyse-impact/nouvelle/", views.impact_assessment_create, name="impact_assessment_create"
    ),
    path(
        "analyse-impact/<int:pk>/fichier/",
        views.impact_assessment_download,
        name="impact_assessment_download",
    ),
]
