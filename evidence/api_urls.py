from __future__ import annotations

from rest_framework.routers import SimpleRouter

from evidence import api

router = SimpleRouter()
router.register("requisitions", api.RequisitionViewSet, basename="requisition")
router.register("registers/extractions", api.ExtractionRegisterView, basename="extraction-register")
router.register("registers/handovers", api.HandoverRegisterView, basename="handover-register")

urlpatterns = [*router.urls]
