"""WSGI entry point."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
application = get_wsgi_application()

# Imported once the apps are loaded (above); in production, the web server does not start on a
# database that still holds the demo's accounts or TOTP devices.
from csu.startup import refuse_unsafe_start  # noqa: E402

refuse_unsafe_start("web server")
