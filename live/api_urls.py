from __future__ import annotations

from rest_framework.routers import SimpleRouter

from live import api

router = SimpleRouter()
router.register("live/layouts", api.LayoutViewSet, basename="live-layout")
router.register("live/presets", api.PresetViewSet, basename="live-preset")
router.register("live/rooms", api.RoomViewSet, basename="live-room")

urlpatterns = router.urls
