from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Réquisitions judiciaires")

    def ready(self) -> None:
        from accounts import navigation
        from evidence import actions, retention
        from evidence.roles import EXTRACTION_REGISTER_READERS, REQUISITION_READERS

        actions.register()
        actions.register_labels()
        retention.register_kinds()
        navigation.register(
            170, _("Réquisitions"), "evidence:requisition_list", REQUISITION_READERS
        )
        navigation.register(
            180, _("Registres des extractions"), "evidence:registers", EXTRACTION_REGISTER_READERS
        )
        from accounts.home import add_section
        from accounts.roles import Role
        from evidence import notify

        add_section(Role.OPJ, lambda user: {"requisition_news": notify.officer_news(user)})
        from evidence.selectors import review_queue

        # The magistrate finds on arriving what waits for his decision, soonest destroyed first.
        add_section(Role.MAGISTRATE, lambda user: {"decision_queue": list(review_queue(user)[:10])})
        from evidence.models import Export, Requisition
        from recordings.keys import register_wrapped_keys

        register_wrapped_keys(
            "requisition attachments",
            Requisition,
            key_id_field="attachment_key_id",
            wrapped_field="attachment_key",
        )
        register_wrapped_keys(
            "export packages", Export, key_id_field="package_key_id", wrapped_field="package_key"
        )
        from evidence.selectors import readable_ids
        from recordings.holds import register_reference_reader

        # A hold placed for a requisition tells its details only to who may read it.
        register_reference_reader("evidence.requisition", readable_ids)
        from evidence import replay
        from recordings import procedures

        # Recorded footage is replayed within a requisition in course that covers it.
        procedures.register(replay.KIND, replay.covering)
        # Every process knows the build task: the services queue it by its name.
        from evidence import tasks  # noqa: F401
