from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = _("Conformité")

    def ready(self) -> None:
        from accounts import navigation
        from compliance import actions, retention
        from compliance.roles import (
            AUDIT_READERS,
            BREACH_KEEPERS,
            COMPLIANCE_READERS,
            REQUEST_HANDLERS,
        )

        actions.register()
        actions.register_labels()
        from audit.signals import integrity_failure
        from compliance.breaches import on_integrity_failure

        # Integrity failures detected below open a draft in the breach register.
        integrity_failure.connect(on_integrity_failure, dispatch_uid="compliance.breaches")
        retention.register_kinds()
        # The audit trail's pages are the DPO's: they take their place after the people's.
        navigation.register(40, _("Journal d'audit"), "audit:event_list", AUDIT_READERS)
        navigation.register(190, _("Conformité"), "compliance:index", COMPLIANCE_READERS)
        navigation.register(
            193, _("Registre des traitements"), "compliance:processing_record", COMPLIANCE_READERS
        )
        navigation.register(
            196, _("Analyse d'impact"), "compliance:impact_assessments", COMPLIANCE_READERS
        )
        navigation.register(200, _("Demandes d'accès"), "compliance:request_list", REQUEST_HANDLERS)
        navigation.register(
            205, _("Violations de données"), "compliance:breach_list", BREACH_KEEPERS
        )
        from compliance.models import AccessRequestCamera, ImpactAssessment
        from recordings.keys import register_wrapped_keys

        register_wrapped_keys(
            "access-request extracts",
            AccessRequestCamera,
            key_id_field="extract_key_id",
            wrapped_field="extract_key",
        )
        register_wrapped_keys(
            "impact assessments",
            ImpactAssessment,
            key_id_field="file_key_id",
            wrapped_field="file_key",
        )
        from compliance import replay
        from recordings import procedures

        # Recorded footage is replayed within an open access request that covers it.
        procedures.register(replay.KIND, replay.covering)
