from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg
from cameras.models import MaskMode
from csu.lib import labels


def register() -> None:
    reg("camera.created", _("Caméra enregistrée"), "change")
    reg("camera.updated", _("Caméra modifiée"), "change")
    reg("camera.source_changed", _("Source du flux de la caméra changée"), "change")
    reg("camera.reference_set", _("Image de référence de la caméra enregistrée"), "change")
    reg("camera.snapshot_viewed", _("Image instantanée consultée"), "access")
    reg("camera.health_changed", _("État de fonctionnement de la caméra changé"), "system")
    # Once per stop and once per resumption, never once per dispatch (CSI L252-1).
    reg(
        "camera.recording_stopped_unauthorized",
        _("Enregistrement et direct arrêtés faute d'autorisation en vigueur"),
        "system",
    )
    reg(
        "camera.recording_resumed",
        _("Enregistrement et direct repris : autorisation en vigueur"),
        "system",
    )
    reg("device.created", _("Équipement enregistré"), "change")
    reg("device.updated", _("Équipement modifié"), "change")
    reg("device.health_changed", _("État du boîtier de l'équipement changé"), "system")
    reg("authorization.created", _("Autorisation préfectorale enregistrée"), "change")
    reg("authorization.updated", _("Autorisation préfectorale modifiée"), "change")
    reg("authorization.expiry_alert", _("Alerte d'échéance d'autorisation préfectorale"), "system")
    reg(
        "authorization.alert_acknowledged",
        _("Alerte d'échéance d'autorisation préfectorale prise en compte"),
        "change",
    )
    reg("privacy_mask.saved", _("Masques de confidentialité enregistrés"), "change")
    reg("privacy_mask.validated", _("Masques de confidentialité validés"), "change")
    reg(
        "privacy_mask.validation_refused",
        _("Validation de ses propres masques de confidentialité refusée"),
        "change",
    )
    reg(
        "camera.retention_change_requested",
        _("Réduction de la durée de conservation demandée"),
        "change",
    )
    reg(
        "camera.retention_change_validated",
        _("Réduction de la durée de conservation validée par le DPO"),
        "change",
    )
    reg(
        "camera.retention_change_refused",
        _("Réduction de la durée de conservation refusée par le DPO"),
        "change",
    )


def register_labels() -> None:
    """Words for the parts of the system that sign the trail for the cameras."""
    labels.register_values(MaskMode)
    labels.register_actor("contrôle de fonctionnement", _("contrôle de fonctionnement"))
    # The health check's measures (cameras.health), as the board and the history show them.
    labels.register_keys(
        {
            "brightness": _("luminosité"),
            "contrast": _("contraste"),
            "motion": _("mouvement"),
            "fps": _("images par seconde"),
            "sharpness": _("netteté"),
            "similarity": _("ressemblance avec l'image de référence"),
            "undecodable": _("flux illisible"),
            "measures": _("mesures"),
            "author_id": _("auteur (numéro de compte)"),
        }
    )
    labels.register_actor("alertes d'échéance", _("alertes d'échéance"))
    labels.register_actor("contrôle des autorisations", _("contrôle des autorisations"))
