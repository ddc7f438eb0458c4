from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("Vidéo en direct")

    def ready(self) -> None:
        from live import actions

        actions.register()
