from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = _("Exploitation de la salle")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import navigation
        from audit.signals import integrity_failure
        from evidence import related_signalements
        from live import reports
        from operations import actions, alarms, links, models, retention
        from operations.roles import ALARM_HANDLERS, ROOM_STAFF, STATISTICS_READERS

        actions.register()
        actions.register_labels()
        retention.register_kinds()
        navigation.register(110, _("Tableau de bord"), "operations:dashboard", ROOM_STAFF)
        navigation.register(115, _("Alarmes"), "operations:alarm_list", ALARM_HANDLERS)
        navigation.register(120, _("Signalements"), "operations:signalement_list", ROOM_STAFF)
        navigation.register(130, _("Vacations"), "operations:shift_list", ROOM_STAFF)
        navigation.register(140, _("Statistiques"), "operations:statistics", STATISTICS_READERS)
        navigation.register_shortcut(
            "n", _("Nouveau signalement"), "operations:signalement_create", ROOM_STAFF
        )
        navigation.register_shortcut(
            "/", _("Rechercher un signalement"), "operations:signalement_list", ROOM_STAFF
        )
        related_signalements.register(links.SignalementLinks())
        reports.register("operations:signalement_create", ROOM_STAFF)
        auditlog.register(models.Signalement, m2m_fields={"cameras"})
        integrity_failure.connect(alarms.on_integrity_failure, dispatch_uid="operations.alarms")
