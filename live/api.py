"""The wall's saved layouts, the rooms and their presets, for the wall's page and clients."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import signed_in
from accounts.api_auth import role_permission
from live import layouts
from live.models import WallLayout, WallRoom
from live.roles import PRESET_EDITORS, WALL_VIEWERS


class LayoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = WallLayout
        fields = ["id", "name", "size", "tiles", "room"]
        read_only_fields = fields


class LayoutInputSerializer(serializers.Serializer):
    """Types only: the names, sizes, tiles and camera codes are checked by ``live.layouts``."""

    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    size = serializers.IntegerField()
    tiles = serializers.ListField(child=serializers.JSONField(allow_null=True), allow_empty=True)


class PresetInputSerializer(LayoutInputSerializer):
    room = serializers.PrimaryKeyRelatedField(queryset=WallRoom.objects.all())


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = WallRoom
        fields = ["id", "name"]


class _LayoutMixin(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = LayoutSerializer
    input_class: type[LayoutInputSerializer] = LayoutInputSerializer

    def _input(self, request: Request, partial: bool) -> dict[str, Any]:
        body = self.input_class(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        layout = layouts.layout_create(actor=request.user, **self._input(request, False))
        return Response(LayoutSerializer(layout).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        layout = self.get_object()
        changes = self._input(request, kwargs.get("partial", False))
        changes.pop("room", None)  # a preset stays in its room
        layout = layouts.layout_update(layout=layout, actor=request.user, **changes)
        return Response(LayoutSerializer(layout).data)

    def perform_destroy(self, instance: WallLayout) -> None:
        layouts.layout_delete(layout=instance, actor=self.request.user)


@extend_schema(tags=["live"], request=LayoutInputSerializer)
class LayoutViewSet(_LayoutMixin):
    """The person's own saved walls; nobody else's exist for them (404)."""

    permission_classes = [role_permission(*WALL_VIEWERS)]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema: the model, no person
            return WallLayout.objects.none()
        return layouts.own_layouts(signed_in(self.request))


@extend_schema(
    tags=["live"],
    request=PresetInputSerializer,
    parameters=[OpenApiParameter("room", OpenApiTypes.INT, description="Salle")],
)
class PresetViewSet(_LayoutMixin):
    """The rooms' shared walls: read by everyone at the wall, changed by supervisors."""

    permission_classes = [role_permission(*PRESET_EDITORS, read_only_roles=tuple(WALL_VIEWERS))]
    input_class = PresetInputSerializer

    def get_queryset(self) -> Any:
        room = self.request.query_params.get("room")
        if self.action == "list" and room is not None:
            if not room.isdigit():
                raise serializers.ValidationError({"room": _("Identifiant de salle invalide.")})
            return layouts.presets(get_object_or_404(WallRoom, pk=room))
        return layouts.presets()


@extend_schema(tags=["live"])
class RoomViewSet(viewsets.ReadOnlyModelViewSet):
    """The rooms where a wall is watched (managed by supervisors on the rooms page)."""

    permission_classes = [role_permission(*WALL_VIEWERS)]
    serializer_class = RoomSerializer

    def get_queryset(self) -> Any:
        return layouts.rooms()
