"""The one table of the legal references the product cites, with what each provides.

Pages, PDFs and documents cite an article by its short form ("CSI L252-5", "art. 77-1-1 CPP",
"RGPD art. 30") and, where they explain it, by the words of this table; a citation of an
article that the table does not hold is an error (tests/quality/test_legal_references.py reads
the code and the templates for them).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Reference:
    #: The law or code: "CSI", "CPP", "RGPD", "LIL".
    source: str
    #: The article as the source numbers it: "L252-5", "77-1-1", "30".
    article: str
    #: What the article provides, in a line (a summary, not a quotation).
    subject: str | Promise

    @property
    def citation(self) -> str:
        """The short form every page uses."""
        if self.source == "CSI":
            return f"CSI {self.article}"
        if self.source == "CPP":
            return f"art. {self.article} CPP"
        return f"{self.source} art. {self.article}"

    @property
    def source_name(self) -> str:
        return str(SOURCES[self.source])


SOURCES: dict[str, str | Promise] = {
    "CSI": _("code de la sécurité intérieure"),
    "CPP": _("code de procédure pénale"),
    "RGPD": _("règlement général sur la protection des données (UE) 2016/679"),
    "LIL": _("loi Informatique et Libertés n° 78-17 du 6 janvier 1978"),
}

REFERENCES: tuple[Reference, ...] = (
    Reference("CSI", "L251-1", _("Champ des systèmes de vidéoprotection")),
    Reference("CSI", "L251-2", _("Finalités pour lesquelles la voie publique peut être filmée")),
    Reference(
        "CSI",
        "L251-3",
        _("Pas de vue de l'intérieur des immeubles d'habitation ni de leurs entrées"),
    ),
    Reference("CSI", "L251-4", _("Commission départementale de vidéoprotection")),
    Reference(
        "CSI",
        "L252-1",
        _("Autorisation préfectorale, après avis de la commission départementale"),
    ),
    Reference(
        "CSI", "L252-2", _("Personnes habilitées à visionner les images, désignées nommément")
    ),
    Reference(
        "CSI",
        "L252-3",
        _("Accès des agents de la police et de la gendarmerie nationales aux images"),
    ),
    Reference("CSI", "L252-4", _("Durée de l'autorisation : cinq ans, renouvelable")),
    Reference(
        "CSI",
        "L252-5",
        _("Conservation des images : un mois au plus, sauf procédure judiciaire"),
    ),
    Reference("CSI", "L253-2", _("Contrôle par la CNIL")),
    Reference("CSI", "L253-3", _("Pouvoirs de contrôle de la CNIL et de la commission")),
    Reference(
        "CSI",
        "L253-5",
        _("Accès aux enregistrements et saisine de la commission départementale"),
    ),
    Reference("CSI", "L254-1", _("Sanctions pénales")),
    Reference("CSI", "L255-1", _("Formation des personnes habilitées")),
    Reference("CPP", "60-1", _("Réquisitions en enquête de flagrance")),
    Reference(
        "CPP",
        "77-1-1",
        _("Réquisitions en enquête préliminaire, avec l'autorisation du procureur"),
    ),
    Reference("CPP", "99-3", _("Réquisitions du juge d'instruction")),
    Reference("RGPD", "5", _("Principes : limitation des finalités et de la conservation")),
    Reference("RGPD", "11", _("Traitement qui n'exige pas d'identifier la personne")),
    Reference("RGPD", "12", _("Délai de réponse aux demandes des personnes")),
    Reference("RGPD", "15", _("Droit d'accès de la personne concernée")),
    Reference("RGPD", "30", _("Registre des activités de traitement")),
    Reference("RGPD", "33", _("Notification d'une violation de données à la CNIL")),
    Reference("RGPD", "34", _("Communication d'une violation aux personnes concernées")),
    Reference("RGPD", "35", _("Analyse d'impact relative à la protection des données")),
    Reference("LIL", "100", _("Registre des traitements (Titre III)")),
    Reference("LIL", "101", _("Journalisation des opérations (Titre III)")),
    Reference("LIL", "104", _("Droits de la personne concernée (Titre III, art. 104 à 106)")),
    Reference("LIL", "107", _("Limitation des droits pour ne pas nuire aux enquêtes")),
    Reference("LIL", "108", _("Exercice des droits par l'intermédiaire de la CNIL")),
)

BY_CITATION: dict[str, Reference] = {r.citation: r for r in REFERENCES}


def reference(source: str, article: str) -> Reference | None:
    """The table's entry for an article ("L252-5" of "CSI"), or None."""
    for entry in REFERENCES:
        if entry.source == source and entry.article == article:
            return entry
    return None


def cite(citation: str) -> str:
    """A citation checked against the table ("CSI L252-5"); an unknown one is an error."""
    if citation not in BY_CITATION:
        raise KeyError(f"{citation!r} is not in csu.lib.legal.REFERENCES")
    return citation
