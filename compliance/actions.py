from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg
from csu.lib import labels


def register() -> None:
    reg("access_request.received", _("Demande d'accès enregistrée"), "change")
    reg("access_request.reminder", _("Rappel d'échéance d'une demande d'accès"), "system")
    reg("access_request.extract_built", _("Extrait flouté préparé (demande d'accès)"), "extraction")
    reg(
        "access_request.extract_downloaded", _("Extrait flouté remis (demande d'accès)"), "handover"
    )
    reg(
        "access_request.extract_released",
        _("Extrait flouté validé par le DPO (demande d'accès)"),
        "extraction",
    )
    reg(
        "access_request.extract_download_refused",
        _("Téléchargement d'un extrait flouté refusé (demande d'accès)"),
        "handover",
    )
    reg(
        "access_request.extract_destroyed",
        _("Extrait flouté et sa clé détruits (demande d'accès)"),
        "destruction",
    )
    reg(
        "access_request.extract_orphans_deleted",
        _("Fichiers d'extraits sans demande supprimés"),
        "destruction",
    )
    reg("access_request.answered", _("Réponse à une demande d'accès"), "change")
    reg("access_request.refused", _("Demande d'accès refusée"), "change")
    reg("access_request.viewed", _("Demande d'accès consultée"), "access")
    reg(
        "access_request.frame_viewed",
        _("Image enregistrée consultée pour marquer les zones d'un extrait (demande d'accès)"),
        "access",
    )
    reg("compliance.register_exported", _("Registre exporté"), "access")
    reg("compliance.audit_pack_built", _("Dossier de contrôle CNIL produit"), "access")
    reg("breach.created", _("Violation de données enregistrée"), "change")
    reg("breach.detected", _("Violation de données détectée par le CSU (brouillon)"), "system")
    reg("breach.updated", _("Violation de données modifiée"), "change")
    reg("breach.decided", _("Décision de notification d'une violation de données"), "change")
    reg("breach.closed", _("Violation de données close"), "change")
    reg("breach.viewed", _("Violation de données consultée"), "access")
    reg("breach.reminder", _("Rappel du délai de notification d'une violation"), "system")
    reg(
        "processing_record.published",
        _("Registre des activités de traitement publié (nouvelle version)"),
        "change",
    )
    reg("processing_record.exported", _("Registre des activités de traitement exporté"), "access")
    reg("impact_assessment.added", _("Analyse d'impact enregistrée (nouvelle version)"), "change")
    reg("impact_assessment.downloaded", _("Analyse d'impact téléchargée"), "access")
    reg("impact_assessment.reminder", _("Rappel de révision de l'analyse d'impact"), "system")


def register_labels() -> None:
    labels.register_keys({"at": _("instant")})
    labels.register_actor("celery:sweep_extracts", _("système (destruction des extraits)"))
    labels.register_actor("celery:remind", _("système (rappels des demandes d'accès)"))
    labels.register_actor("integrity-check", _("système (contrôle d'intégrité)"))
    labels.register_actor("celery:remind_breaches", _("système (rappels des violations)"))
    labels.register_actor(
        "celery:remind_impact_assessment", _("système (rappels de l'analyse d'impact)")
    )
