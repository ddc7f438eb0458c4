from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = _("Exploitation de la salle")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from evidence import related_signalements
        from operations import actions, links, models

        actions.register()
        related_signalements.register(links.SignalementLinks())
        auditlog.register(models.Signalement, m2m_fields={"cameras"})
