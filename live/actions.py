from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg


def register() -> None:
    # One event per viewing session, written when it ends (start, end, station in its details).
    reg("live.session", _("Session de visionnage en direct"), "access")
