from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("Vidéo en direct")

    def ready(self) -> None:
        from accounts import navigation
        from live import actions
        from live.roles import WALL_VIEWERS

        actions.register()
        navigation.register(60, _("Mur d'images"), "live:wall", WALL_VIEWERS)
