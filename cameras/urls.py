from __future__ import annotations

from django.urls import path

from cameras import views

app_name = "cameras"

urlpatterns = [
    path("", views.camera_list, name="camera_list"),
    path("nouvelle/", views.camera_create, name="camera_create"),
    path("sante/", views.health_board, name="health_board"),
    path("carte/", views.camera_map, name="camera_map"),
    path("carte/etats/", views.camera_map_states, name="camera_map_states"),
    path("autorisations/", views.authorization_list, name="authorization_list"),
    path("autorisations/nouvelle/", views.authorization_create, name="authorization_create"),
    path("autorisations/alertes/", views.authorization_alert_list, name="authorization_alert_list"),
    path(
        "autorisations/alertes/<int:pk>/prendre-en-compte/",
        views.authorization_alert_acknowledge,
        name="authorization_alert_acknowledge",
    ),
    path("arrets-autorisation/", views.recording_stops, name="recording_stops"),
    path("autorisations/<int:pk>/", views.authorization_detail, name="authorization_detail"),
    path("autorisations/<int:pk>/modifier/", views.authorization_edit, name="authorization_edit"),
    path("conservation/", views.retention_changes, name="retention_changes"),
    path(
        "conservation/<int:pk>/valider/",
        views.retention_change_validate,
        name="retention_change_validate",
    ),
    path(
        "conservation/<int:pk>/refuser/",
        views.retention_change_refuse,
        name="retention_change_refuse",
    ),
    path("equipements/", views.device_list, name="device_list"),
    path("equipements/nouveau/", views.device_create, name="device_create"),
    path("equipements/<str:code>/", views.device_detail, name="device_detail"),
    path("equipements/<str:code>/modifier/", views.device_edit, name="device_edit"),
    path("<str:code>/", views.camera_detail, name="camera_detail"),
    path("<str:code>/modifier/", views.camera_edit, name="camera_edit"),
    path("<str:code>/historique/", views.camera_history, name="camera_history"),
    path("<str:code>/instantane.jpg", views.camera_snapshot, name="camera_snapshot"),
    path("<str:code>/reference/", views.camera_reset_reference, name="camera_reset_reference"),
    path("<str:code>/masques/", views.mask_editor, name="mask_editor"),
    path("<str:code>/masques/<int:version>/valider/", views.mask_validate, name="mask_validate"),
]
