from __future__ import annotations

from rest_framework.routers import SimpleRouter

from compliance import breach_api

router = SimpleRouter()
router.register("breaches", breach_api.BreachViewSet, basename="breach")

urlpatterns = router.urls
