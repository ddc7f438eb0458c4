"""The retention schedule of everything the CSU keeps about people, in one table.

Images (each camera's retention), the files derived from them, the application's own records
(``audit.records``, each app's kinds) and the audit trail's categories: what the public notice,
the register and the audit pack show. Read from the settings and the register of cameras at the
moment it is asked, so that it says what the purges actually do.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit import records
from cameras.models import Camera, CameraStatus


@dataclass(frozen=True)
class ScheduleLine:
    #: "images", "fichiers", "donnees" or "journal": the group it is shown in.
    group: str
    label: str | Promise
    period: str
    treatment: str | Promise
    source: str | Promise


def days_text(days: int) -> str:
    """A period in French: whole years when it is one, days otherwise."""
    if days >= 365 and days % 365 == 0:
        years = days // 365
        return ngettext("%(n)s an", "%(n)s ans", years) % {"n": years}
    return ngettext("%(n)s jour", "%(n)s jours", days) % {"n": days}


def camera_retention_range() -> tuple[int, int]:
    """The shortest and longest retention among the cameras in service (15 days when none)."""
    values = sorted(
        set(
            Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED).values_list(
                "retention_days", flat=True
            )
        )
    ) or [15]
    return values[0], values[-1]


def _images() -> ScheduleLine:
    low, high = camera_retention_range()
    period = (
        days_text(high)
        if low == high
        else _("de %(low)s à %(high)s selon les caméras")
        % {"low": days_text(low), "high": days_text(high)}
    )
    return ScheduleLine(
        "images",
        _("Images enregistrées par les caméras"),
        period,
        _(
            "détruites automatiquement (fichiers et clés de chiffrement), sauf gel pour une "
            "réquisition judiciaire ou une demande d'accès"
        ),
        _(
            "Code de la sécurité intérieure L252-5 : un mois au plus ; durée fixée par "
            "l'arrêté préfectoral d'autorisation"
        ),
    )


def _derived_files() -> list[ScheduleLine]:
    return [
        ScheduleLine(
            "fichiers",
            _("Paquets d'images remis à la justice"),
            _(
                "lien de %(link)s, paquet supprimé %(grace)s après la remise ; jamais "
                "téléchargé, %(unclaimed)s après l'expiration de son dernier lien"
            )
            % {
                "link": ngettext("%(n)s heure", "%(n)s heures", settings.EVIDENCE_LINK_HOURS)
                % {"n": settings.EVIDENCE_LINK_HOURS},
                "grace": days_text(settings.EVIDENCE_HANDOVER_GRACE_DAYS),
                "unclaimed": days_text(settings.EVIDENCE_UNCLAIMED_DAYS),
            },
            _(
                "supprimés, inscrits au registre des fichiers dérivés ; le procès-verbal de "
                "remise et les empreintes restent au registre"
            ),
            _("Code de procédure pénale art. 60-1, 77-1-1 et 99-3 : remise à l'officier requérant"),
        ),
        ScheduleLine(
            "fichiers",
            _("Extraits remis aux personnes qui demandent l'accès à leurs images"),
            _("jusqu'à la réponse"),
            _("détruits après la réponse, inscrits au registre des destructions"),
            _("RGPD art. 15 ; loi Informatique et Libertés art. 104 à 107"),
        ),
        ScheduleLine(
            "fichiers",
            _("Fichiers temporaires de relecture"),
            ngettext(
                "%(n)s minute", "%(n)s minutes", settings.RECORDING_PLAYBACK_TOKEN_SECONDS // 60
            )
            % {"n": settings.RECORDING_PLAYBACK_TOKEN_SECONDS // 60},
            _("supprimés à l'expiration du jeton de relecture"),
            _("RGPD art. 5.1.e : aucune copie des images hors de leur durée de conservation"),
        ),
    ]


def _records() -> list[ScheduleLine]:
    return [
        ScheduleLine("donnees", kind.label, days_text(kind.days()), kind.treatment, kind.source)
        for kind in records.kinds()
    ]


#: The audit trail's categories, in the order they are shown.
AUDIT_CATEGORIES = ("access", "auth", "extraction", "handover", "destruction", "change", "system")


def _audit_label(category: str) -> str:
    labels = {
        "access": _("Journal d'audit : consultations d'images et de données"),
        "auth": _("Journal d'audit : connexions et déconnexions"),
        "extraction": _("Journal d'audit : extractions"),
        "handover": _("Journal d'audit : remises"),
        "destruction": _("Journal d'audit : destructions"),
        "change": _("Journal d'audit : modifications"),
        "system": _("Journal d'audit : opérations du système"),
    }
    return labels.get(category, category)


def _audit() -> list[ScheduleLine]:
    table = settings.AUDIT_RETENTION_DAYS
    return [
        ScheduleLine(
            "journal",
            _audit_label(category),
            days_text(table[category]),
            _("élagués jusqu'à un point de contrôle signé"),
            _(
                "Loi Informatique et Libertés art. 101 ; CNIL, délibération n° 2021-122 "
                "(journalisation)"
            ),
        )
        for category in AUDIT_CATEGORIES
        if category in table
    ]


def retention_schedule() -> list[ScheduleLine]:
    """Every line of the schedule: images, derived files, records, audit trail."""
    return [_images(), *_derived_files(), *_records(), *_audit()]
