from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import api

router = SimpleRouter()
router.register("users", api.UserViewSet, basename="user")
router.register("habilitations", api.HabilitationViewSet, basename="habilitation")
router.register("services", api.ServiceViewSet, basename="service")
router.register("communes", api.CommuneViewSet, basename="commune")
router.register("agreements", api.AgreementViewSet, basename="agreement")

urlpatterns = [
    path("me/", api.me, name="me"),
    path("auth/token/", api.issue_token, name="token"),
    *router.urls,
]
