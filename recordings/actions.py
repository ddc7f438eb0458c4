from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg


def register() -> None:
    reg("recording.key_created", _("Clé de chiffrement du jour créée"), "system")
    reg("recording.master_key_rotated", _("Clé maîtresse renouvelée"), "change")
    reg("recording.integrity_failed", _("Segment altéré détecté"), "system")
    reg("recording.gap", _("Interruption d'enregistrement"), "system")
