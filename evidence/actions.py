from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg
from csu.lib import labels


def register() -> None:
    reg("requisition.submitted", _("Réquisition déposée"), "change")
    reg("requisition.refused_input", _("Réquisition refusée au dépôt"), "change")
    reg("requisition.attachment_viewed", _("Pièce de réquisition consultée"), "access")
    reg("requisition.under_review", _("Réquisition en cours d'examen"), "change")
    reg("requisition.approved", _("Réquisition autorisée"), "change")
    reg("requisition.partly_approved", _("Réquisition autorisée en partie"), "change")
    reg("requisition.rejected", _("Réquisition refusée"), "change")
    reg("requisition.decision_refused", _("Décision refusée"), "change")
    reg("requisition.cancelled", _("Réquisition annulée"), "change")
    reg("requisition.expired", _("Réquisition expirée"), "change")
    reg("requisition.escalated", _("Réquisition non décidée dans le délai, signalée"), "change")
    reg("requisition.reminded", _("Rappel d'une réquisition non décidée"), "change")
    reg("requisition.closed", _("Réquisition close"), "change")
    reg("export.started", _("Extraction lancée"), "extraction")
    reg("export.ready", _("Extraction prête"), "extraction")
    reg("export.failed", _("Extraction échouée"), "extraction")
    reg("export.clip_viewed", _("Séquence extraite visionnée avant remise"), "access")
    reg("export.released", _("Extraction vérifiée et libérée"), "handover")
    reg("export.link_issued", _("Téléchargement autorisé à l'officier"), "handover")
    reg("export.downloaded", _("Extraction remise (téléchargée)"), "handover")
    reg("export.download_refused", _("Téléchargement refusé"), "handover")
    reg("export.package_destroyed", _("Paquet d'extraction détruit"), "destruction")
    reg("export.orphans_deleted", _("Fichiers d'extraction abandonnés supprimés"), "destruction")


def register_labels() -> None:
    labels.register_actor("evidence.tasks", _("système (exports)"))
