from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg
from csu.lib import labels


def register() -> None:
    reg("shift.clocked_in", _("Prise de service"), "change")
    reg("shift.clocked_out", _("Fin de service"), "change")
    reg(
        "shift.closed_by_supervisor",
        _("Fin de service oubliée clôturée par le chef de salle"),
        "change",
    )
    reg("rota.slot_added", _("Créneau ajouté au planning"), "change")
    reg("rota.slot_removed", _("Créneau retiré du planning"), "change")
    reg("rota.generated", _("Planning généré (six jours sur sept)"), "change")
    reg("signalement.created", _("Signalement enregistré"), "change")
    reg("signalement.note_added", _("Note de suivi ajoutée au signalement"), "change")
    reg("signalement.service_alerted", _("Service alerté pour un signalement"), "change")
    reg("signalement.service_arrived", _("Arrivée d'un service sur un signalement"), "change")
    reg("signalement.closed", _("Signalement clos"), "change")
    reg("signalement.exported", _("Signalements exportés (CSV)"), "access")
    reg("requisition.signalement_linked", _("Réquisition liée à un signalement"), "change")
    reg("requisition.signalement_unlinked", _("Lien réquisition – signalement retiré"), "change")
    reg("alarm.acknowledged", _("Alarme acquittée"), "change")
    reg("alarm.closed", _("Alarme close"), "change")
    reg("alarm.closed_by_system", _("Alarmes closes automatiquement (cause disparue)"), "system")


def register_labels() -> None:
    labels.register_actor("file des alarmes", _("système (clôture automatique des alarmes)"))
    labels.register_keys(
        {
            "alarms": _("alarmes"),
            # The rota generator's run (rota.generated).
            "first": _("premier jour"),
            "last": _("dernier jour"),
            "shifts": _("vacations"),
            "operators": _("opérateurs"),
            "slots": _("créneaux créés"),
        }
    )
