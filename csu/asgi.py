"""ASGI entry point: the live WebSockets (``live/``) beside the same pages as WSGI.

Run by uvicorn (``Procfile``: ``live``). The pages are served by gunicorn (WSGI) in production;
this process serves them too, so that one live process alone is a working site (tests, demo).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # The Origin must be one of ALLOWED_HOSTS: another site cannot open a stream with the
        # operator's cookie (cross-site WebSocket hijacking).
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# As the web server (csu/wsgi.py): in production, no live process on a database that still holds
# the demo's accounts or TOTP devices.
from csu.startup import refuse_unsafe_start  # noqa: E402

refuse_unsafe_start("live server")
