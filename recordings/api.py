"""The recordings' endpoints: the state of every camera's recorder, for the control room."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import role_permission
from recordings import selectors
from recordings.roles import RECORDER_WATCHERS


class RecorderRowSerializer(serializers.Serializer):
    camera = serializers.CharField(source="camera.code")
    name = serializers.CharField(source="camera.name")
    sector = serializers.CharField(source="camera.sector")
    camera_status = serializers.CharField(source="camera.status")
    state = serializers.CharField()
    state_label = serializers.CharField()
    last_segment_at = serializers.DateTimeField(allow_null=True)
    bitrate = serializers.IntegerField(help_text="bit/s")
    storage_bytes = serializers.IntegerField()
    gap_since = serializers.DateTimeField(allow_null=True)
    gap_reason = serializers.CharField()
    last_error = serializers.CharField()
    alert = serializers.CharField(help_text="Why the camera counts as not recording; empty if OK.")


class OperationsView(APIView):
    """Every camera's recorder state; cameras not recording (``alert`` not empty) first."""

    permission_classes = [role_permission(*RECORDER_WATCHERS)]

    @extend_schema(responses=RecorderRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(RecorderRowSerializer(selectors.operations_board(), many=True).data)
