from __future__ import annotations

from django.urls import path

from recordings import retention_views as views

app_name = "retention"

urlpatterns = [
    path("destructions/", views.destruction_list, name="destruction_list"),
    path("destructions/<int:pk>/", views.destruction_detail, name="destruction_detail"),
    path("gels/", views.hold_list, name="hold_list"),
    path("gels/nouveau/", views.hold_create, name="hold_create"),
    path("gels/<int:pk>/", views.hold_detail, name="hold_detail"),
    path("gels/<int:pk>/lever/", views.hold_release, name="hold_release"),
    path("gels/<int:pk>/renouveler/", views.hold_renew, name="hold_renew"),
]
