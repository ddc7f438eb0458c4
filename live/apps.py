from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("Vidéo en direct")

    def ready(self) -> None:
        from accounts import navigation
        from accounts.home import add_section
        from accounts.roles import Role
        from live import actions, selectors
        from live.roles import WALL_VIEWERS

        actions.register()
        navigation.register(60, _("Mur d'images"), "live:wall", WALL_VIEWERS)
        # The Police nationale's station: the cameras of the agreement it may watch now.
        add_section(
            Role.POLICE_STATION, lambda user: {"wall_cameras": selectors.wall_cameras(user)}
        )
