"""The purposes a video protection system may pursue: the closed list of CSI L251-2.

An authorization lists the purposes it allows; everything done with its cameras' images (a
signalement, a replay, an extraction) names the one it pursues, which must be among them. An
access request's extract is the exception: it serves the filmed person's right of access, which
is not a purpose of the system but a right against it (RGPD art. 15, LIL art. 104 et s.).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Purpose(models.TextChoices):
    """CSI L251-2, 1° to 11°, in the article's order."""

    PUBLIC_BUILDINGS = (
        "batiments_publics",
        _("L251-2 1° — Protection des bâtiments et installations publics et de leurs abords"),
    )
    NATIONAL_DEFENCE = (
        "defense_nationale",
        _("L251-2 2° — Sauvegarde des installations utiles à la défense nationale"),
    )
    TRAFFIC_FLOWS = "flux_transport", _("L251-2 3° — Régulation des flux de transport")
    TRAFFIC_OFFENCES = (
        "infractions_circulation",
        _("L251-2 4° — Constatation des infractions aux règles de la circulation"),
    )
    PERSONS_AND_PROPERTY = (
        "atteintes_personnes_biens",
        _(
            "L251-2 5° — Prévention des atteintes à la sécurité des personnes et des biens dans "
            "des lieux particulièrement exposés à des risques d'agression, de vol ou de trafic "
            "de stupéfiants, et des fraudes douanières"
        ),
    )
    TERRORISM = "terrorisme", _("L251-2 6° — Prévention d'actes de terrorisme")
    NATURAL_RISKS = (
        "risques_naturels",
        _("L251-2 7° — Prévention des risques naturels ou technologiques"),
    )
    RESCUE_AND_FIRE = (
        "secours_incendie",
        _("L251-2 8° — Secours aux personnes et défense contre l'incendie"),
    )
    AMUSEMENT_PARKS = (
        "parcs_attraction",
        _(
            "L251-2 9° — Sécurité des installations accueillant du public dans les parcs "
            "d'attraction"
        ),
    )
    VEHICLE_INSURANCE = (
        "assurance_vehicules",
        _("L251-2 10° — Respect de l'obligation d'assurance des véhicules"),
    )
    WASTE_DUMPING = (
        "abandon_dechets",
        _(
            "L251-2 11° — Prévention et constatation des infractions relatives à l'abandon "
            "d'ordures, de déchets, de matériaux ou d'autres objets"
        ),
    )


#: What an access request's extract serves: the filmed person's right, not a purpose of L251-2.
RIGHT_OF_ACCESS = "droit_acces"
RIGHT_OF_ACCESS_LABEL = _(
    "Droit d'accès de la personne filmée (RGPD art. 15, loi Informatique et Libertés art. 104 "
    "et suivants)"
)

#: Every purpose an image consultation or communication may record.
VIEWING_PURPOSE_CHOICES: list[tuple[str, Any]] = [
    *Purpose.choices,
    (RIGHT_OF_ACCESS, RIGHT_OF_ACCESS_LABEL),
]


def purpose_label(code: str) -> str:
    """A recorded purpose in French words; "" for none (records made before purposes)."""
    if code in Purpose.values:
        return str(Purpose(code).label)
    if code == RIGHT_OF_ACCESS:
        return str(RIGHT_OF_ACCESS_LABEL)
    return ""


def ordered(codes: Iterable[str]) -> list[str]:
    """Codes without duplicates, in the article's order."""
    chosen = set(codes)
    return [code for code in Purpose.values if code in chosen]


def validate_purposes(value: Any) -> None:
    """A list of at least one L251-2 purpose, each known and listed once."""
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Cochez au moins une finalité de l'article L251-2."))
    unknown = [str(code) for code in value if code not in Purpose.values]
    if unknown:
        raise ValidationError(
            _("Finalité inconnue : %(codes)s."), params={"codes": ", ".join(unknown)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Une finalité est listée deux fois."))
