from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes et habilitations")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import actions, models, signals  # noqa: F401  (connects the sign-in hooks)

        actions.register()
        auditlog.register(models.User, exclude_fields=["password", "last_login"])
        auditlog.register(models.Habilitation)
        auditlog.register(models.Service)
