"""The API's documentation, in French: the sign-in gate of /api/docs/ and /api/schema/, and a
summary and a description for every operation, with French tag names.

The views' docstrings are written in English for developers: the schema a city's integrator
reads says, in French, what each operation does. The table is keyed by operation id; a new
endpoint without an entry fails tests/accounts/test_api_docs.py, which names it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


class _SignInFirst:
    """A browser is led as on the site's pages: a signed-out visitor to the sign-in page, a
    person who has not given the second factor to the code page, one whose password an
    administrator chose to the password page. An API client presenting a token is answered
    by the API's permission (JSON)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if "HTTP_AUTHORIZATION" not in request.META:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.requires_second_factor and not user.is_verified():
                return redirect("accounts:otp_verify")
            if user.must_change_password:
                return redirect("accounts:password_change")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class SchemaView(_SignInFirst, SpectacularAPIView):
    """The OpenAPI schema, for signed-in people and API clients."""


class DocsView(_SignInFirst, SpectacularSwaggerSplitView):
    """Swagger UI over the schema, for signed-in people."""


#: Each app's tag, as the documentation shows it, with what the group covers.
TAGS: dict[str, tuple[str, str]] = {
    "alarms": (
        "Alarmes",
        "La file des alarmes de la salle : pannes, trous d'enregistrement, échéances.",
    ),
    "agreements": ("Conventions", "Conventions entre communes pour partager les caméras."),
    "audit": ("Journal d'audit", "Le journal des actions, chaîné et vérifiable."),
    "auth": ("Authentification", "Jetons d'accès à l'API."),
    "authorization-alerts": (
        "Alertes d'échéance",
        "Alertes avant l'échéance des autorisations préfectorales.",
    ),
    "authorizations": ("Autorisations préfectorales", "Les arrêtés qui autorisent les caméras."),
    "breaches": ("Violations de données", "Le registre des violations de données."),
    "cameras": ("Caméras", "Le registre des caméras, leurs masques, leur état et leurs pannes."),
    "communes": ("Communes", "Les communes servies par le centre."),
    "compliance": ("Conformité", "Analyse d'impact et registre des traitements."),
    "destructions": ("Destructions d'images", "Le registre des destructions et de la purge."),
    "devices": ("Équipements multicapteurs", "Les équipements qui portent plusieurs caméras."),
    "habilitations": ("Habilitations", "Les droits d'accès aux images, par secteur et caméra."),
    "holds": ("Gels d'images", "Les images soustraites à la purge."),
    "live": ("Direct", "Murs d'images, murs partagés et salles."),
    "me": ("Mon compte", "La personne connectée."),
    "operations": ("Exploitation", "Signalements, vacations et statistiques."),
    "recordings": ("Enregistrements", "L'état des enregistreurs."),
    "registers": ("Registres", "Registres des extractions et des remises."),
    "requisitions": ("Réquisitions judiciaires", "Dépôt, décision, extraction et remise."),
    "retention-changes": (
        "Durées de conservation",
        "Les baisses de durée de conservation et leur validation.",
    ),
    "services": ("Services", "Les services de police et de gendarmerie."),
    "users": ("Comptes", "Les comptes des personnes et leurs formations."),
}

#: operationId: (summary, description), in French.
OPERATIONS: dict[str, tuple[str, str]] = {
    "operations_rota_list": (
        "Lire le planning",
        "Les créneaux du planning de la salle pour les 14 prochains jours.",
    ),
    "operations_rota_create": (
        "Ajouter un créneau au planning",
        (
            "Ajoute un créneau pour une personne (chef de salle) ; refusé s'il chevauche un"
            " de ses créneaux (journalisé)."
        ),
    ),
    "operations_signalements_services_arrived_create": (
        "Service arrivé maintenant",
        (
            "Enregistre l'arrivée sur place, à l'heure du serveur, d'un service alerté pour"
            " le signalement (journalisé) ; refusé si le service n'a pas été alerté ou si"
            " son arrivée est déjà notée."
        ),
    ),
    "alarms_list": (
        "Lister les alarmes",
        (
            "Les alarmes de la salle, les plus urgentes d'abord : l'opérateur voit celles qui"
            " sont ouvertes, le chef de salle aussi l'historique (filtres par état, nature,"
            " priorité, caméra et dates)."
        ),
    ),
    "alarms_acknowledge_create": (
        "Acquitter une alarme",
        "Acquitte une alarme ouverte avec un commentaire obligatoire (journalisé).",
    ),
    "alarms_close_create": (
        "Clore une alarme",
        (
            "Clôt une alarme, avec un commentaire facultatif (journalisé) ; si sa cause"
            " demeure, une nouvelle alarme s'ouvre au passage suivant."
        ),
    ),
    "agreements_list": (
        "Lister les conventions",
        (
            "Les conventions qui ouvrent les caméras d'une commune aux agents d'une autre ; "
            "une convention est enregistrée puis terminée, jamais modifiée."
        ),
    ),
    "agreements_create": (
        "Enregistrer une convention",
        "Enregistre une convention entre communes (administrateurs) ; elle est journalisée.",
    ),
    "agreements_retrieve": (
        "Consulter une convention",
        "Le détail d'une convention entre communes, avec son état.",
    ),
    "agreements_end_create": (
        "Mettre fin à une convention",
        "Termine la convention maintenant, avec son motif (journalisé).",
    ),
    "audit_chain_retrieve": (
        "Vérifier la chaîne du journal",
        (
            "L'état de la chaîne du journal d'audit (chaque événement scelle le précédent) : "
            "de quoi revérifier chaque événement hors ligne."
        ),
    ),
    "audit_events_list": (
        "Lister les événements du journal",
        "Les événements du journal d'audit, filtrés par acteur, action, objet et période.",
    ),
    "auth_token_create": (
        "Obtenir un jeton d'API",
        "Délivre un nouveau jeton d'API à la personne connectée ; le précédent est révoqué.",
    ),
    "auth_token_destroy": (
        "Se déconnecter de l'API",
        "Révoque les jetons d'API de la personne (dont celui présenté).",
    ),
    "authorization_alerts_list": (
        "Lister les alertes d'échéance des autorisations",
        (
            "Les alertes avant l'échéance des autorisations préfectorales (180, 90 et 30 "
            "jours avant, puis expirée), les ouvertes d'abord : des tâches que chefs de salle"
            " et administrateurs prennent en compte."
        ),
    ),
    "authorization_alerts_retrieve": (
        "Consulter une alerte d'échéance",
        "Le détail d'une alerte d'échéance d'autorisation préfectorale.",
    ),
    "authorization_alerts_acknowledge_create": (
        "Prendre en compte une alerte d'échéance",
        (
            "Prend l'alerte en compte, avec une note facultative (journalisé) ; répond 409 si"
            " elle l'était déjà ou si elle est close."
        ),
    ),
    "authorizations_list": (
        "Lister les autorisations préfectorales",
        (
            "Les autorisations préfectorales d'installation (CSI L252-1), avec leurs "
            "finalités et leur échéance."
        ),
    ),
    "authorizations_create": (
        "Enregistrer une autorisation préfectorale",
        "Enregistre un arrêté préfectoral d'autorisation, ses finalités et sa durée (journalisé).",
    ),
    "authorizations_retrieve": (
        "Consulter une autorisation préfectorale",
        "Le détail d'une autorisation préfectorale et des caméras qu'elle couvre.",
    ),
    "authorizations_partial_update": (
        "Modifier une autorisation préfectorale",
        "Modifie les champs fournis d'une autorisation préfectorale (journalisé).",
    ),
    "authorizations_alerts_list": (
        "Lister les autorisations à renouveler",
        "Les autorisations expirées ou qui expirent dans les 180 jours.",
    ),
    "breaches_list": (
        "Lister les violations de données",
        (
            "Le registre des violations de données que tient le délégué à la protection des "
            "données, notifiées ou non à la CNIL."
        ),
    ),
    "breaches_create": (
        "Déclarer une violation de données",
        "Inscrit une violation de données au registre (journalisé).",
    ),
    "breaches_retrieve": (
        "Consulter une violation de données",
        "Le détail d'une violation de données et de la décision prise.",
    ),
    "breaches_decide_create": (
        "Décider de notifier la CNIL",
        "Enregistre la décision motivée de notifier ou non la violation à la CNIL (RGPD art. 33).",
    ),
    "cameras_list": (
        "Lister les caméras",
        "Le registre des caméras, filtrable par secteur, état et texte.",
    ),
    "cameras_create": (
        "Ajouter une caméra",
        "Inscrit une caméra au registre (chefs de salle et administrateurs) ; journalisé.",
    ),
    "cameras_retrieve": (
        "Consulter une caméra",
        "Le détail d'une caméra : emplacement, autorisation, conservation et état.",
    ),
    "cameras_partial_update": (
        "Modifier une caméra",
        (
            "Modifie les champs fournis d'une caméra ; une baisse de la durée de conservation"
            " attend la validation du délégué à la protection des données."
        ),
    ),
    "cameras_history_list": (
        "Historique d'une caméra",
        "Les modifications de la caméra, les plus récentes d'abord.",
    ),
    "cameras_masks_list": (
        "Lister les masques d'une caméra",
        "Les versions des masques de zones privées, les plus récentes d'abord.",
    ),
    "cameras_masks_create": (
        "Ajouter une version de masque",
        (
            "Dessine une nouvelle version des masques de zones privées (chef de salle) ; elle"
            " attend d'être validée."
        ),
    ),
    "cameras_masks_validate_create": (
        "Valider une version de masque",
        (
            "Valide une version de masque dessinée par une autre personne (chef de salle ou"
            " DPO ; l'auteur ne peut pas valider la sienne) : elle s'applique aux images"
            " montrées et exportées (journalisé)."
        ),
    ),
    "cameras_outages_list": (
        "Pannes d'une caméra",
        "Les périodes où la caméra ne fonctionnait pas normalement, les plus récentes d'abord.",
    ),
    "cameras_reset_reference_create": (
        "Réinitialiser l'image de référence",
        (
            "Prend l'image actuelle comme vue normale de la caméra, pour détecter un "
            "déplacement (journalisé)."
        ),
    ),
    "cameras_snapshot_retrieve": (
        "Image actuelle d'une caméra",
        (
            "L'image actuelle en JPEG, masques incrustés (habilitation au direct requise ; "
            "journalisé)."
        ),
    ),
    "cameras_health_list": (
        "État des caméras",
        "Les caméras en service, de l'état le plus grave au meilleur.",
    ),
    "communes_list": (
        "Lister les communes",
        "Les communes que sert le centre (un centre intercommunal en sert plusieurs).",
    ),
    "communes_create": (
        "Ajouter une commune",
        "Ajoute une commune servie par le centre (administrateurs ; journalisé).",
    ),
    "communes_retrieve": (
        "Consulter une commune",
        "Le détail d'une commune servie par le centre.",
    ),
    "communes_partial_update": (
        "Modifier une commune",
        "Modifie les champs fournis d'une commune (journalisé).",
    ),
    "destructions_list": (
        "Lister les destructions d'images",
        (
            "Le registre des destructions d'images (délégué à la protection des données, "
            "chefs de salle)."
        ),
    ),
    "destructions_retrieve": (
        "Consulter une destruction d'images",
        "Le détail d'une destruction : caméra, période et date.",
    ),
    "destructions_status_retrieve": (
        "Les images d'une période sont-elles détruites ?",
        "Indique si les images de cette caméra pour cette période ont été détruites, et quand.",
    ),
    "devices_list": (
        "Lister les équipements multicapteurs",
        (
            "Les équipements multicapteurs : une adresse, une autorisation et un identifiant "
            "pour plusieurs caméras."
        ),
    ),
    "devices_create": (
        "Ajouter un équipement multicapteur",
        "Inscrit un équipement multicapteur (journalisé).",
    ),
    "devices_retrieve": (
        "Consulter un équipement multicapteur",
        "Le détail d'un équipement et de ses caméras.",
    ),
    "devices_partial_update": (
        "Modifier un équipement multicapteur",
        "Modifie les champs fournis d'un équipement (journalisé).",
    ),
    "habilitations_list": (
        "Lister les habilitations",
        "Les habilitations d'accès aux images : personne, droits, secteurs, caméras et validité.",
    ),
    "habilitations_create": (
        "Accorder une habilitation",
        (
            "Accorde une habilitation ; les secteurs et les caméras doivent exister dans le "
            "périmètre de l'administrateur, sinon la réponse 400 nomme les valeurs inconnues."
        ),
    ),
    "habilitations_retrieve": (
        "Consulter une habilitation",
        "Le détail d'une habilitation et son état.",
    ),
    "habilitations_partial_update": (
        "Modifier une habilitation",
        (
            "Modifie les champs fournis d'une habilitation ; secteurs et caméras inconnus "
            "refusés (400)."
        ),
    ),
    "habilitations_revoke_create": (
        "Retirer une habilitation",
        "Retire l'habilitation maintenant, avec son motif (journalisé).",
    ),
    "holds_list": (
        "Lister les gels d'images",
        "Les gels d'images, lus par le délégué à la protection des données et les chefs de salle.",
    ),
    "holds_create": (
        "Geler des images",
        (
            "Gèle à la main les images d'une caméra sur une période (chefs de salle) ; elles "
            "échappent à la purge."
        ),
    ),
    "holds_retrieve": (
        "Consulter un gel d'images",
        "Le détail d'un gel, de sa cause et de son échéance.",
    ),
    "holds_release_create": (
        "Lever un gel d'images",
        "Lève le gel : les images suivent de nouveau leur durée de conservation (journalisé).",
    ),
    "holds_renew_create": (
        "Prolonger un gel d'images",
        "Prolonge l'échéance du gel, avec son motif (journalisé).",
    ),
    "impact_assessments_list": (
        "Lister les analyses d'impact",
        (
            "Les versions de l'analyse d'impact relative à la protection des données (AIPD) "
            "du délégué."
        ),
    ),
    "impact_assessments_retrieve": (
        "Consulter une analyse d'impact",
        "Le détail d'une version de l'analyse d'impact.",
    ),
    "live_layouts_list": (
        "Lister mes murs d'images",
        (
            "Les murs d'images enregistrés par la personne ; ceux des autres n'existent pas "
            "pour elle (404)."
        ),
    ),
    "live_layouts_create": (
        "Enregistrer un mur d'images",
        "Enregistre une disposition du mur d'images pour la personne.",
    ),
    "live_layouts_retrieve": (
        "Consulter un de mes murs d'images",
        "Le détail d'un mur d'images de la personne.",
    ),
    "live_layouts_update": (
        "Remplacer un de mes murs d'images",
        "Remplace entièrement un mur d'images de la personne.",
    ),
    "live_layouts_partial_update": (
        "Modifier un de mes murs d'images",
        "Modifie les champs fournis d'un mur d'images de la personne.",
    ),
    "live_layouts_destroy": (
        "Supprimer un de mes murs d'images",
        "Supprime un mur d'images de la personne.",
    ),
    "live_presets_list": (
        "Lister les murs partagés",
        (
            "Les murs d'images partagés des salles : lus par tous ceux qui regardent le mur, "
            "modifiés par les chefs de salle."
        ),
    ),
    "live_presets_create": (
        "Créer un mur partagé",
        "Crée un mur d'images partagé (chefs de salle).",
    ),
    "live_presets_retrieve": (
        "Consulter un mur partagé",
        "Le détail d'un mur d'images partagé.",
    ),
    "live_presets_update": (
        "Remplacer un mur partagé",
        "Remplace entièrement un mur partagé (chefs de salle).",
    ),
    "live_presets_partial_update": (
        "Modifier un mur partagé",
        "Modifie les champs fournis d'un mur partagé (chefs de salle).",
    ),
    "live_presets_destroy": (
        "Supprimer un mur partagé",
        "Supprime un mur partagé (chefs de salle).",
    ),
    "live_rooms_list": (
        "Lister les salles",
        "Les salles où un mur d'images est regardé (gérées par les chefs de salle).",
    ),
    "live_rooms_retrieve": (
        "Consulter une salle",
        "Le détail d'une salle où un mur d'images est regardé.",
    ),
    "me_retrieve": (
        "Mon compte",
        "La personne connectée : identité, rôle, service et second facteur requis ou non.",
    ),
    "operations_requisitions_signalements_retrieve": (
        "Signalements d'une réquisition",
        "Les signalements que concerne une réquisition.",
    ),
    "operations_requisitions_signalements_create": (
        "Lier des signalements à une réquisition",
        "L'officier ou le chef de salle lie d'autres signalements à la réquisition (journalisé).",
    ),
    "operations_requisitions_signalements_destroy": (
        "Délier un signalement d'une réquisition",
        "Retire le lien entre une réquisition et un signalement (journalisé).",
    ),
    "operations_shifts_clock_in_create": (
        "Prendre son service",
        "Ouvre une vacation pour la personne connectée ; refusé si elle en a déjà une en cours.",
    ),
    "operations_shifts_clock_out_create": (
        "Finir son service",
        "Termine la vacation en cours de la personne connectée.",
    ),
    "operations_signalements_list": (
        "Lister les signalements",
        (
            "Les signalements, filtrés par texte (q), catégorie, état, suite donnée, service,"
            " caméra et période."
        ),
    ),
    "operations_signalements_create": (
        "Créer un signalement",
        "Enregistre un signalement de la salle (journalisé).",
    ),
    "operations_signalements_retrieve": (
        "Consulter un signalement",
        "Le détail d'un signalement, de ses services et de ses suites.",
    ),
    "operations_signalements_requisitions_retrieve": (
        "Réquisitions d'un signalement",
        "Les réquisitions liées au signalement que la personne peut voir.",
    ),
    "operations_statistics_retrieve": (
        "Statistiques d'activité",
        (
            "Les statistiques d'activité d'une période (dates de début et de fin incluses, "
            "AAAA-MM-JJ) : heures d'activité, signalements, réquisitions et disponibilité des"
            " caméras."
        ),
    ),
    "processing_record_versions_list": (
        "Lister les versions du registre des traitements",
        (
            "Les versions publiées du registre des activités de traitement (délégué à la "
            "protection des données)."
        ),
    ),
    "processing_record_versions_retrieve": (
        "Consulter une version du registre des traitements",
        "Le détail d'une version publiée du registre des traitements.",
    ),
    "purge_runs_list": (
        "Lister les passages de la purge",
        (
            "Les passages de la purge automatique des images, refus compris (délégué à la "
            "protection des données, chefs de salle)."
        ),
    ),
    "purge_runs_retrieve": (
        "Consulter un passage de la purge",
        "Le détail d'un passage de la purge et de ce qu'il a détruit ou refusé.",
    ),
    "recordings_operations_list": (
        "État des enregistreurs",
        (
            "L'état de l'enregistrement de chaque caméra ; celles qui n'enregistrent pas "
            "(alerte non vide) d'abord."
        ),
    ),
    "registers_extractions_list": (
        "Registre des extractions",
        "Le registre des extractions d'images (réquisitions et droits d'accès).",
    ),
    "registers_extractions_retrieve": (
        "Consulter une extraction",
        "Le détail d'une extraction inscrite au registre.",
    ),
    "registers_handovers_list": (
        "Registre des remises",
        "Le registre des remises d'images aux officiers de police judiciaire.",
    ),
    "registers_handovers_retrieve": (
        "Consulter une remise",
        "Le détail d'une remise inscrite au registre.",
    ),
    "requisitions_list": (
        "Lister les réquisitions judiciaires",
        "Les réquisitions judiciaires que la personne peut voir.",
    ),
    "requisitions_create": (
        "Déposer une réquisition judiciaire",
        (
            "L'officier de police judiciaire dépose une réquisition ; les images demandées "
            "sont gelées aussitôt (journalisé)."
        ),
    ),
    "requisitions_retrieve": (
        "Consulter une réquisition judiciaire",
        "Le détail d'une réquisition, de ses fenêtres d'images et de son état.",
    ),
    "requisitions_cancel_create": (
        "Annuler une réquisition judiciaire",
        "L'officier annule sa réquisition, avec son motif (journalisé).",
    ),
    "requisitions_decision_create": (
        "Décider d'une réquisition judiciaire",
        (
            "Le magistrat autorise ou refuse la réquisition, fenêtre par fenêtre, avec son "
            "motif (journalisé)."
        ),
    ),
    "requisitions_download_create": (
        "Télécharger l'extraction",
        (
            "Le paquet d'images, une seule fois, pour l'officier à qui il a été remis (la "
            "requête POST le consomme)."
        ),
    ),
    "requisitions_export_create": (
        "Préparer l'extraction",
        "Lance la préparation du paquet des images autorisées, pour la finalité indiquée.",
    ),
    "requisitions_reissue_create": (
        "Permettre un nouveau téléchargement",
        (
            "Autorise un téléchargement de plus d'une extraction remise ; le lien précédent "
            "non utilisé est révoqué."
        ),
    ),
    "requisitions_release_create": (
        "Libérer l'extraction",
        "Met le paquet préparé à la disposition de l'officier (journalisé).",
    ),
    "requisitions_review_create": (
        "Examiner une réquisition judiciaire",
        "Le magistrat commence l'examen de la réquisition (déposée → en examen).",
    ),
    "retention_changes_list": (
        "Lister les baisses de conservation",
        (
            "Les baisses de durée de conservation d'une caméra : demandées par un "
            "responsable, validées ou refusées par le délégué à la protection des données."
        ),
    ),
    "retention_changes_retrieve": (
        "Consulter une baisse de conservation",
        "Le détail d'une demande de baisse de conservation.",
    ),
    "retention_changes_refuse_create": (
        "Refuser une baisse de conservation",
        "Le délégué refuse, avec son motif : la caméra garde sa durée de conservation.",
    ),
    "retention_changes_validate_create": (
        "Valider une baisse de conservation",
        (
            "Le délégué valide : la durée plus courte s'applique aux images enregistrées à "
            "partir de maintenant."
        ),
    ),
    "services_list": (
        "Lister les services",
        "Les services de police et de gendarmerie dont relèvent les officiers.",
    ),
    "services_retrieve": (
        "Consulter un service",
        "Le détail d'un service de police ou de gendarmerie.",
    ),
    "users_list": (
        "Lister les comptes",
        "Les comptes des personnes qui utilisent le centre.",
    ),
    "users_create": (
        "Créer un compte",
        (
            "Crée un compte (administrateurs) ; le mot de passe suit la politique affichée "
            "sur les formulaires (journalisé)."
        ),
    ),
    "users_retrieve": (
        "Consulter un compte",
        "Le détail d'un compte : identité, rôle, service et état.",
    ),
    "users_partial_update": (
        "Modifier un compte",
        (
            "Modifie les champs fournis d'un compte ; un nouveau mot de passe est provisoire "
            "(journalisé)."
        ),
    ),
    "users_trainings_list": (
        "Formations d'une personne",
        "Les formations suivies par la personne, les plus récentes d'abord.",
    ),
    "users_trainings_create": (
        "Enregistrer une formation",
        (
            "Enregistre une formation suivie par la personne (CSI L255-1), administrateurs "
            "seulement ; une date à venir est refusée."
        ),
    ),
}


def french_documentation(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: French summaries, descriptions and tags."""
    used: set[str] = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            text = OPERATIONS.get(operation["operationId"])
            if text is not None:
                operation["summary"], operation["description"] = text
            tags = [TAGS[tag][0] if tag in TAGS else tag for tag in operation.get("tags", [])]
            if tags:
                operation["tags"] = tags
            used.update(tags)
    result["tags"] = [
        {"name": name, "description": description}
        for name, description in sorted(TAGS.values())
        if name in used
    ]
    return result
