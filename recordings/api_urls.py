from __future__ import annotations

from django.urls import path

from recordings import api

urlpatterns = [
    path("recordings/operations/", api.OperationsView.as_view(), name="recordings-operations"),
]
