from __future__ import annotations

from django.urls import path

from recordings import views

app_name = "recordings"

urlpatterns = [
    path("relecture/", views.replay_index, name="replay_index"),
    path("relecture/<str:code>/", views.replay_camera, name="replay_camera"),
    path("relecture/<str:code>/lecture/<str:token>/", views.replay_player, name="replay_player"),
    path(
        "relecture/<str:code>/lecture/<str:token>/video.mp4",
        views.replay_video,
        name="replay_video",
    ),
    path("exploitation/", views.operations, name="operations"),
]
