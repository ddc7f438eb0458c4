"""The quality in which a person may view images, and the hook that checks it on a grant.

The prefectoral authorization lists the qualities of the people allowed to view its cameras
(CSI L252-2): the CSU's operators, the agents of the police municipale, the Police nationale...
A person's quality follows from their service (a police municipale agent belongs to the police
municipale) and, without a service that tells, from their role (an operator or a chef de salle
is an agent of the commune; the remote station is the Police nationale's). It is derived, never
typed twice, so that moving a person to another service changes it everywhere at once.

The authorizations live in the camera register, above accounts: the register fills
:func:`register_grant_check` when it starts, and a habilitation is granted only when every
check passes (pattern: recordings.procedures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

if TYPE_CHECKING:
    from accounts.models import Habilitation


class Quality(models.TextChoices):
    """Qualities of the people an authorization may allow to view images (CSI L252-2)."""

    CSU_OPERATOR = "operateur_csu", _("Opérateurs du CSU (agents de la commune)")
    POLICE_MUNICIPALE = "police_municipale", _("Agents de police municipale")
    POLICE_NATIONALE = "police_nationale", _("Fonctionnaires de la Police nationale")
    GENDARMERIE = "gendarmerie", _("Militaires de la Gendarmerie nationale")
    DOUANES = "douanes", _("Agents des douanes")
    SAPEURS_POMPIERS = "sapeurs_pompiers", _("Sapeurs-pompiers (SDIS)")


#: The quality a service's kind gives its members (codes of ``Service.Kind``).
SERVICE_QUALITY: dict[str, Quality] = {
    "csu": Quality.CSU_OPERATOR,
    "police_municipale": Quality.POLICE_MUNICIPALE,
    "police_nationale": Quality.POLICE_NATIONALE,
    "gendarmerie": Quality.GENDARMERIE,
    "douanes": Quality.DOUANES,
    "sdis": Quality.SAPEURS_POMPIERS,
}

#: The quality of a person whose service does not tell one, by role.
ROLE_QUALITY: dict[str, Quality] = {
    Role.OPERATOR: Quality.CSU_OPERATOR,
    Role.SUPERVISOR: Quality.CSU_OPERATOR,
    Role.POLICE_STATION: Quality.POLICE_NATIONALE,
}


def quality_of(user: Any) -> Quality | None:
    """The person's quality for viewing images, None when nothing gives them one."""
    service = getattr(user, "service", None)
    if service is not None and service.kind in SERVICE_QUALITY:
        return SERVICE_QUALITY[service.kind]
    return ROLE_QUALITY.get(getattr(user, "role", ""))


def quality_label(code: str | None) -> str:
    """The quality in French words, for refusals and registers."""
    if code in Quality.values:
        return str(Quality(code).label)
    return str(_("aucune qualité reconnue"))


#: ``check(habilitation)``: why the habilitation may not be granted as it stands, "" when it
#: may. Registered by the apps that know what a habilitation covers.
GrantCheck = Callable[["Habilitation"], str]

_grant_checks: list[GrantCheck] = []


def register_grant_check(check: GrantCheck) -> None:
    """Called from an AppConfig.ready; registering the same check twice changes nothing."""
    if check not in _grant_checks:
        _grant_checks.append(check)


def grant_refusals(habilitation: Habilitation) -> list[str]:
    """Every registered check's refusal of ``habilitation``, in registration order."""
    return [reason for reason in (check(habilitation) for check in _grant_checks) if reason]
