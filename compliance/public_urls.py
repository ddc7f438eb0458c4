"""Pages open to everyone (under /public/, which the second-factor middleware leaves open)."""

from __future__ import annotations

from django.urls import path

from compliance import views

app_name = "public"
urlpatterns = [
    path("information/", views.public_notice, name="notice"),
]
