from __future__ import annotations

from rest_framework.routers import SimpleRouter

from compliance import governance_api

router = SimpleRouter()
router.register(
    "processing-record-versions",
    governance_api.ProcessingRecordVersionViewSet,
    basename="processing-record-version",
)
router.register(
    "impact-assessments", governance_api.ImpactAssessmentViewSet, basename="impact-assessment"
)

urlpatterns = router.urls
