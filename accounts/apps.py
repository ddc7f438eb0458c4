from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes et habilitations")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import actions, models, navigation, retention, signals  # noqa: F401
        from accounts.roles import COMMUNE_READERS, PEOPLE_READERS

        actions.register()
        actions.register_labels()
        retention.register_kinds()
        navigation.register_core_entries()
        navigation.register(20, _("Utilisateurs"), "accounts:user_list", PEOPLE_READERS)
        navigation.register(30, _("Habilitations"), "accounts:habilitation_list", PEOPLE_READERS)
        navigation.register(
            34, _("Communes et conventions"), "accounts:commune_list", COMMUNE_READERS
        )
        navigation.register(35, _("Formations"), "accounts:training_list", PEOPLE_READERS)
        auditlog.register(models.User, exclude_fields=["password", "last_login"])
        auditlog.register(models.Habilitation)
        auditlog.register(models.Service)
        auditlog.register(models.Commune)
        auditlog.register(models.Agreement, m2m_fields={"viewer_communes", "camera_communes"})
