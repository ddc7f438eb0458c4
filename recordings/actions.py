from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg
from csu.lib import labels


def register() -> None:
    reg("recording.key_created", _("Clé de chiffrement du jour créée"), "system")
    reg("recording.master_key_rotated", _("Clé maîtresse renouvelée"), "change")
    reg("recording.integrity_failed", _("Segment altéré détecté"), "system")
    reg("recording.gap", _("Interruption d'enregistrement"), "system")
    reg("recording.playback", _("Enregistrement relu"), "access")
    reg("recording.hold_placed", _("Gel des images placé"), "change")
    reg("recording.hold_released", _("Gel des images levé"), "change")
    reg("recording.hold_renewed", _("Gel des images renouvelé"), "change")
    reg("recording.destroyed", _("Enregistrements détruits (purge)"), "destruction")
    reg("recording.purge_refused", _("Purge refusée : index et stockage en désaccord"), "system")
    reg("recording.orphans_deleted", _("Objets non indexés supprimés"), "destruction")
    reg("recording.kek_created", _("Clé de période créée (magasin de clés)"), "system")
    reg("recording.kek_destroyed", _("Clés de période détruites (purge)"), "destruction")
    reg(
        "recording.keys_adopted",
        _("Clés du jour anciennes reprises sous leur clé de période"),
        "system",
    )
    reg(
        "recording.keys_moved_to_holds",
        _("Clés du jour d'images gelées reprises sous la clé des gels"),
        "system",
    )
    reg("recording.silent", _("Enregistreur sans segment (alerte)"), "system")
    reg("recording.clock_alert", _("Horloge du serveur hors tolérance (alerte)"), "system")
    reg("recording.clock_recovered", _("Horloge du serveur revenue dans la tolérance"), "system")
    reg(
        "recording.camera_clock_alert",
        _("Horloge d'une caméra décalée (alerte)"),
        "system",
    )
    reg(
        "recording.camera_clock_recovered",
        _("Horloge d'une caméra revenue dans la tolérance"),
        "system",
    )
    reg("recording.playback_files_destroyed", _("Fichiers de relecture détruits"), "destruction")


def register_labels() -> None:
    labels.register_value_labels(
        {
            "rtcp": _("rapports RTCP de la caméra"),
            "stream": _("horodatage du flux comparé à l'arrivée"),
        }
    )
    labels.register_actor("contrôle de l'horloge", _("contrôle de l'horloge"))
    labels.register_actor("purge", _("système (purge des enregistrements)"))
    labels.register_actor("recorder", _("système (enregistreur)"))
    labels.register_actor_prefix("recorder", _("enregistreur"))
    labels.register_actor(
        "celery:sweep_playback_files", _("système (destruction des fichiers de relecture)")
    )
