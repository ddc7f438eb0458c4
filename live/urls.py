from __future__ import annotations

from django.urls import path

from live import views

app_name = "live"

urlpatterns = [
    path("", views.wall, name="wall"),
    path("salles/", views.rooms, name="rooms"),
    path("salles/<int:pk>/renommer/", views.room_rename, name="room_rename"),
    path("salles/<int:pk>/supprimer/", views.room_delete, name="room_delete"),
]
