from __future__ import annotations

from rest_framework.routers import SimpleRouter

from cameras import api

router = SimpleRouter()
router.register("cameras", api.CameraViewSet, basename="camera")
router.register("devices", api.DeviceViewSet, basename="device")
router.register("authorizations", api.AuthorizationViewSet, basename="authorization")
router.register(
    "authorization-alerts", api.AuthorizationAlertViewSet, basename="authorization-alert"
)
router.register("retention-changes", api.RetentionChangeViewSet, basename="retention-change")

urlpatterns = router.urls
