from __future__ import annotations

from django.urls import path

from live.consumers import LiveConsumer

websocket_urlpatterns = [
    path("direct/ws/<str:code>/", LiveConsumer.as_asgi(), name="live_stream"),
]
