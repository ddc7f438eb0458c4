"""The audit trail's API: the events (filtered as on the page, by
``audit.selectors.search_events``) with every hashed field, and the chain's state.
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import role_permission
from audit.chain import HASHED_FIELDS
from audit.models import AuditEvent, ChainCheckpoint
from audit.selectors import chain_state
from compliance.filters import AuditEventFilter
from compliance.roles import AUDIT_READERS


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        # What the chain hashes, and the links: enough to re-check each event offline.
        fields = [*HASHED_FIELDS, "prev_hash", "hash"]


class AuditEventList(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    permission_classes = [role_permission(*AUDIT_READERS)]

    def get_queryset(self):
        return AuditEvent.objects.order_by("-seq")


class ChainStateSerializer(serializers.Serializer):
    events = serializers.IntegerField()
    head_seq = serializers.IntegerField(allow_null=True)
    head_hash = serializers.CharField(allow_null=True)
    last_verification = serializers.DictField(allow_null=True)
    last_checkpoint = serializers.DictField(allow_null=True)
    #: verification records no signed outcome backs (forged rows or events), in French
    suspicious = serializers.ListField(child=serializers.CharField())


class ChainState(APIView):
    permission_classes = [role_permission(*AUDIT_READERS)]

    @extend_schema(responses=ChainStateSerializer)
    def get(self, request: Request) -> Response:
        head: Mapping[str, object] = (
            AuditEvent.objects.order_by("-seq").values("seq", "hash").first() or {}
        )
        state = chain_state()
        last = state.last_verification
        verification = (
            {
                "finished_at": last.finished_at,
                "events_checked": last.events_checked,
                "ok": last.ok,
                "first_broken_seq": last.first_broken_seq,
                "message": last.message,
                "event_seq": last.seq,
            }
            if last
            else None
        )
        checkpoint = (
            ChainCheckpoint.objects.order_by("-signed_at")
            .values("seq", "head_hash", "signed_at", "signature", "key_fingerprint")
            .first()
        )
        return Response(
            {
                "events": AuditEvent.objects.count(),
                "head_seq": head.get("seq"),
                "head_hash": head.get("hash"),
                "last_verification": verification,
                "last_checkpoint": checkpoint,
                "suspicious": state.suspicious,
            }
        )
