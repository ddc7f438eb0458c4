from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Journal d'audit")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from audit import actions, database_roles

        actions.register_core_actions()
        actions.register_core_labels()
        # Migrations run as the owner; the application's role gets its rights restated after.
        post_migrate.connect(database_roles.setup_after_migrate, sender=self)
