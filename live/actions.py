from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from audit.actions import register as reg


def register() -> None:
    # One event per viewing session, written when it ends (start, end, station in its details).
    reg("live.session", _("Session de visionnage en direct"), "access")
    # The shared walls of the rooms (a person's own layouts are theirs alone: no event).
    reg("live.room_created", _("Salle du mur d'images créée"), "change")
    reg("live.room_renamed", _("Salle du mur d'images renommée"), "change")
    reg("live.room_deleted", _("Salle du mur d'images supprimée"), "change")
    reg("live.preset_created", _("Préréglage de salle créé"), "change")
    reg("live.preset_changed", _("Préréglage de salle modifié"), "change")
    reg("live.preset_deleted", _("Préréglage de salle supprimé"), "change")
