from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = _("Exploitation de la salle")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from operations import actions, models

        actions.register()
        auditlog.register(models.Signalement, m2m_fields={"cameras"})
