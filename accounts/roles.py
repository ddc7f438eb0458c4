"""Roles and what each may use. Habilitations decide access to images on top of this."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR = "operator", _("Opérateur")
    SUPERVISOR = "supervisor", _("Chef de salle")
    OPJ = "opj", _("Officier de police judiciaire")
    MAGISTRATE = "magistrate", _("Magistrat")
    DPO = "dpo", _("Délégué à la protection des données")
    ADMIN = "admin", _("Administrateur")


class Right(models.TextChoices):
    """Rights over images that a habilitation can grant."""

    LIVE = "live", _("Visionnage en direct")
    REPLAY = "replay", _("Relecture des enregistrements")
    EXTRACT = "extract", _("Extraction")


#: The image rights each role can ever hold; a habilitation cannot widen them.
ROLE_RIGHTS: dict[str, frozenset[str]] = {
    Role.OPERATOR: frozenset({Right.LIVE}),
    Role.SUPERVISOR: frozenset({Right.LIVE, Right.REPLAY, Right.EXTRACT}),
    Role.OPJ: frozenset(),
    Role.MAGISTRATE: frozenset(),
    Role.DPO: frozenset(),
    Role.ADMIN: frozenset(),
}

#: Roles that manage people and habilitations, and roles that read the audit trail.
PEOPLE_MANAGERS = frozenset({Role.ADMIN})
AUDIT_READERS = frozenset({Role.DPO})
#: Roles that may read the people and habilitation registers without changing them.
PEOPLE_READERS = PEOPLE_MANAGERS | AUDIT_READERS
