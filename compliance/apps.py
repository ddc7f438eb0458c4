from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Conformité")

    def ready(self) -> None:
        from compliance import actions

        actions.register()
        from compliance.models import AccessRequestCamera
        from recordings.keys import register_wrapped_keys

        register_wrapped_keys(
            "access-request extracts",
            AccessRequestCamera,
            key_id_field="extract_key_id",
            wrapped_field="extract_key",
        )
