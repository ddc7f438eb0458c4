from __future__ import annotations

from rest_framework.routers import SimpleRouter

from recordings import retention_api

router = SimpleRouter()
router.register("destructions", retention_api.DestructionRecordViewSet, basename="destruction")
router.register("purge-runs", retention_api.PurgeRunViewSet, basename="purge-run")
router.register("holds", retention_api.HoldViewSet, basename="hold")

urlpatterns = router.urls
