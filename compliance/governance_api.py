"""The record of processing activities' versions and the impact assessment's versions, read by
the DPO's tools (RGPD art. 30 and 35). Files are downloaded from the pages, where it is audited."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets

from accounts.api_auth import role_permission
from cameras.models import Authorization
from compliance.models import ImpactAssessment, ProcessingRecordVersion
from compliance.roles import COMPLIANCE_READERS
from csu.lib.drf import UTCDateTimeField


class ProcessingRecordVersionSerializer(serializers.ModelSerializer):
    published_at = UTCDateTimeField(read_only=True)
    published_by = serializers.CharField(source="published_by.get_username", read_only=True)

    class Meta:
        model = ProcessingRecordVersion
        fields = ["id", "number", "published_at", "published_by", "note", "content_sha256"]
        read_only_fields = fields


class ImpactAssessmentSerializer(serializers.ModelSerializer):
    recorded_at = UTCDateTimeField(read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.get_username", read_only=True)
    authorizations: serializers.SlugRelatedField[Authorization] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="number"
    )

    class Meta:
        model = ImpactAssessment
        fields = [
            "id",
            "version",
            "assessed_on",
            "author",
            "summary",
            "authorizations",
            "file_name",
            "file_type",
            "file_size",
            "file_sha256",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = fields


@extend_schema(tags=["compliance"])
class ProcessingRecordVersionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Versions published of the record of processing activities (the DPO's)."""

    serializer_class = ProcessingRecordVersionSerializer
    queryset = (
        ProcessingRecordVersion.objects.select_related("published_by")
        .defer("pdf", "odt", "content")
        .order_by("-number")
    )

    def get_permissions(self) -> list[Any]:
        return [role_permission(*COMPLIANCE_READERS)()]


@extend_schema(tags=["compliance"])
class ImpactAssessmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Versions of the data-protection impact assessment (the DPO's)."""

    serializer_class = ImpactAssessmentSerializer
    queryset = (
        ImpactAssessment.objects.select_related("recorded_by")
        .prefetch_related("authorizations")
        .order_by("-version")
    )

    def get_permissions(self) -> list[Any]:
        return [role_permission(*COMPLIANCE_READERS)()]
