from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordingsConfig(AppConfig):
    name = "recordings"
    verbose_name = _("Enregistrements")

    def ready(self) -> None:
        from accounts import navigation
        from cameras import notices
        from recordings import actions, clock
        from recordings.roles import RECORDER_WATCHERS, REPLAYERS, RETENTION_READERS

        actions.register()
        actions.register_labels()
        notices.register(clock.health_notices)
        navigation.register(90, _("Relecture"), "recordings:replay_index", REPLAYERS)
        navigation.register(100, _("Enregistreurs"), "recordings:operations", RECORDER_WATCHERS)
        navigation.register(
            150, _("Registre des destructions"), "retention:destruction_list", RETENTION_READERS
        )
        navigation.register(160, _("Gels des images"), "retention:hold_list", RETENTION_READERS)
