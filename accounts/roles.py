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
    #: The Police nationale's remote station: watches live, under the city's agreement only.
    POLICE_STATION = "police_station", _("Poste déporté de la Police nationale")


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
    Role.POLICE_STATION: frozenset({Right.LIVE}),
}

#: Roles that see only the cameras the city's agreement with the Police nationale lists
#: (``Camera.police_relay``), whatever their habilitations cover.
AGREEMENT_BOUND_ROLES = frozenset({Role.POLICE_STATION})

#: Everyone signed in: the home page, the API's documentation.
ALL_ROLES = frozenset(Role.values)
#: Manage people, their habilitations and the services.
PEOPLE_MANAGERS = frozenset({Role.ADMIN})
#: Read the people and habilitation registers without changing them: the DPO checks them.
PEOPLE_READERS = PEOPLE_MANAGERS | {Role.DPO}
#: Read the services: whoever reads people, and magistrates, to whom services send requisitions.
SERVICE_READERS = PEOPLE_READERS | {Role.MAGISTRATE}
#: Record the communes of an intercommunal CSU and their conventions: whoever manages people,
#: since a convention widens what their habilitations open.
COMMUNE_MANAGERS = PEOPLE_MANAGERS
#: Read the communes and conventions: the DPO checks them as they check habilitations.
COMMUNE_READERS = PEOPLE_READERS
