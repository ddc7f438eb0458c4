from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CamerasConfig(AppConfig):
    name = "cameras"
    verbose_name = _("Registre des caméras")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import navigation, qualities, scope
        from cameras import actions, models, services
        from cameras.roles import (
            AUTHORIZATION_ALERT_READERS,
            HEALTH_WATCHERS,
            MAP_READERS,
            RECORDING_STOP_READERS,
            REGISTER_READERS,
        )

        actions.register()
        actions.register_labels()

        qualities.register_grant_check(services.habilitation_quality_refusal)
        scope.register_source(services.habilitation_scope)
        navigation.register(50, _("Caméras"), "cameras:camera_list", REGISTER_READERS)
        navigation.register(52, _("Carte des caméras"), "cameras:camera_map", MAP_READERS)
        navigation.register(55, _("Équipements"), "cameras:device_list", REGISTER_READERS)
        navigation.register(70, _("Santé des caméras"), "cameras:health_board", HEALTH_WATCHERS)
        navigation.register(
            80, _("Autorisations préfectorales"), "cameras:authorization_list", REGISTER_READERS
        )
        navigation.register(
            82,
            _("Échéances des autorisations"),
            "cameras:authorization_alert_list",
            AUTHORIZATION_ALERT_READERS,
        )
        navigation.register(
            84,
            _("Arrêts faute d'autorisation"),
            "cameras:recording_stops",
            RECORDING_STOP_READERS,
        )
        auditlog.register(models.Authorization)
        auditlog.register(models.Camera, exclude_fields=["stream_credentials", "reference_image"])
        auditlog.register(models.PrivacyMask)
        auditlog.register(models.Device, exclude_fields=["stream_credentials"])
