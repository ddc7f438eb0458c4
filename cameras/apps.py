from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CamerasConfig(AppConfig):
    name = "cameras"
    verbose_name = _("Registre des caméras")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from cameras import actions, models

        actions.register()
        auditlog.register(models.Authorization)
        auditlog.register(models.Camera, exclude_fields=["stream_credentials", "reference_image"])
        auditlog.register(models.PrivacyMask)
        auditlog.register(models.Device, exclude_fields=["stream_credentials"])
