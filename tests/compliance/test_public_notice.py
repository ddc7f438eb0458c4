"""The public information page (second level of the signs): built from the authorizations in
force and their cameras, in the visitor's language, open without signing in."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone, translation

from accounts.roles import Role
from audit import records
from cameras.models import CameraStatus
from cameras.purposes import Purpose
from cameras.retention import retention_change_validate
from cameras.services import camera_update
from evidence import manifest
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_public_page_states_the_fingerprint_that_verifiers_pin():
    fingerprint = manifest.signer().fingerprint
    text = Client().get("/public/information/").content.decode()
    assert f'<code id="empreinte-cle">{fingerprint}</code>' in text
    assert f"python3 verify.py --fingerprint {fingerprint}" in text


def test_a_misconfigured_signing_key_leaves_the_page_up_without_a_fingerprint(settings):
    settings.EVIDENCE_SIGNING_KEY = "pas une clé"
    response = Client().get("/public/information/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Responsable du traitement" in text and "empreinte-cle" not in text
    assert "pas une clé" not in text


def test_former_keys_are_listed_for_packages_signed_before_a_change_of_key(settings):
    former = "ab" * 32
    settings.EVIDENCE_PREVIOUS_FINGERPRINTS = [former]
    text = Client().get("/public/information/").content.decode()
    assert f'<code class="empreinte-precedente">{former}</code>' in text
    assert f'<code id="empreinte-cle">{manifest.signer().fingerprint}</code>' in text


def test_the_public_page_shows_the_retention_schedule_in_french(settings):
    settings.RECORD_RETENTION_DAYS = {**settings.RECORD_RETENTION_DAYS, "signalements": 730}
    settings.EVIDENCE_UNCLAIMED_DAYS = 5
    CameraFactory(code="CAM-PUB1", retention_days=10)
    CameraFactory(code="CAM-PUB2", retention_days=15)
    # French unless the visitor chose English: the browser's language is not followed.
    response = Client(headers={"accept-language": "en"}).get("/public/information/")
    text = html.unescape(response.content.decode())
    table = text[text.index('<table id="durees-conservation"') :]
    table = table[: table.index("</table>")]
    assert "de 10 jours à 15 jours selon les caméras" in table
    assert (
        '<th scope="row">Signalements (main courante de la salle)</th>'
        '<td data-label="Durée :">2 ans</td>'
    ) in table
    for kind in records.kinds():
        with translation.override("fr"):
            assert f'<th scope="row">{kind.label}</th>' in table
    assert "Paquets d'images remis à la justice" in table
    assert "jamais téléchargé, 5 jours après l'expiration de son dernier lien" in table
    assert "Journal d'audit :" not in table  # summed up in one sentence below the table
    assert "est conservé de 1 an à 3 ans selon la nature de l'opération" in text


# --- Built from the authorizations in force -----------------------------------------------------


def _page(language: str = "fr") -> str:
    client = Client()
    if language != "fr":
        client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/public/information/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _section(text: str, number: str) -> str:
    start = text.index(f"Arrêté préfectoral n° {number}")
    return text[start : text.index("</section>", start)]


def test_each_authorization_in_force_states_its_purposes_perimeter_and_retention():
    centre = AuthorizationFactory(
        number="73-2025-0042",
        purposes=[Purpose.TRAFFIC_FLOWS, Purpose.PERSONS_AND_PROPERTY],
        perimeter="Centre-ville et gare.",
        retention_days=30,
    )
    CameraFactory(code="CAM-N1", authorization=centre, retention_days=10)
    CameraFactory(code="CAM-N2", authorization=centre, retention_days=20)
    parks = AuthorizationFactory(number="73-2025-0043", purposes=[Purpose.RESCUE_AND_FIRE])
    CameraFactory(code="CAM-N3", authorization=parks, retention_days=15)
    text = _page()
    section = _section(text, "73-2025-0042")
    # In the article's order, in its words.
    assert f"<li>{Purpose.TRAFFIC_FLOWS.label}</li>" in section
    assert f"<li>{Purpose.PERSONS_AND_PROPERTY.label}</li>" in section
    assert section.count("<li>") == 2
    assert "Centre-ville et gare." in section
    assert '<dd class="retention">de 10 jours à 20 jours selon les caméras</dd>' in section
    assert "30 jours" not in section  # the arrêté's ceiling is not what the purge applies
    other = _section(text, "73-2025-0043")
    assert f"<li>{Purpose.RESCUE_AND_FIRE.label}</li>" in other
    assert '<dd class="retention">15 jours</dd>' in other
    assert "filmés par 3 caméras de vidéoprotection" in text


def test_an_expired_authorization_or_one_without_cameras_in_service_is_not_stated():
    today = timezone.localdate()
    lapsed = AuthorizationFactory(
        number="73-2019-0001",
        issued_on=today - timedelta(days=5 * 365 + 10),
        expires_on=today - timedelta(days=10),
    )
    CameraFactory(authorization=lapsed)
    removed = AuthorizationFactory(number="73-2024-0099")
    CameraFactory(authorization=removed, status=CameraStatus.DECOMMISSIONED)
    AuthorizationFactory(number="73-2024-0100")  # covers no camera
    text = _page()
    for number in ("73-2019-0001", "73-2024-0099", "73-2024-0100"):
        assert number not in text
    assert "Aucune autorisation préfectorale n'est en cours de validité" in text


def test_changing_the_retention_of_cameras_changes_the_page(settings):
    settings.MIN_RETENTION_DAYS = 1
    authorization = AuthorizationFactory(number="73-2025-0050", retention_days=30)
    camera = CameraFactory(code="CAM-R1", authorization=authorization, retention_days=15)
    CameraFactory(code="CAM-R2", authorization=authorization, retention_days=15)
    assert '<dd class="retention">15 jours</dd>' in _section(_page(), "73-2025-0050")
    dpo, supervisor = UserFactory(role=Role.DPO), UserFactory(role=Role.SUPERVISOR)
    # A raise applies at once.
    camera_update(camera=camera, actor=supervisor, verify_source=False, retention_days=25)
    section = _section(_page(), "73-2025-0050")
    assert '<dd class="retention">de 15 jours à 25 jours selon les caméras</dd>' in section
    # A lowering applies once the DPO validated it, and the page says so then, not before.
    camera = camera_update(
        camera=camera,
        actor=supervisor,
        verify_source=False,
        retention_days=7,
        retention_reason="Avis de la commission départementale.",
    )
    assert "de 15 jours à 25 jours" in _section(_page(), "73-2025-0050")
    assert camera.retention_request is not None
    retention_change_validate(change=camera.retention_request, actor=dpo)
    section = _section(_page(), "73-2025-0050")
    assert '<dd class="retention">de 7 jours à 15 jours selon les caméras</dd>' in section


def test_the_page_names_the_rights_of_the_police_justice_regime_and_how_to_use_them():
    CameraFactory()
    text = _page()
    rights = text[text.index('id="droits"') : text.index('id="reclamations"')]
    for article in ("104 et 105", "106", "107", "108"):
        assert f"article {article}" in rights or f"articles {article}" in rights, article
    assert "saisir la CNIL" in rights and "magistrat" in rights
    assert "Le droit d'opposition ne s'applique pas" in rights
    assert "gelées dès réception de la demande" in rights
    assert "délai d'un mois" in rights
    assert "titre III de la loi n° 78-17" in text and "articles 87 et suivants" in text
    assert "dpo@mairie-chambery.fr" in text


def test_the_cnil_and_the_commission_departementale_come_from_the_settings(settings):
    settings.COMPLIANCE_NOTICE = {
        **settings.COMPLIANCE_NOTICE,
        "cnil_address": "CNIL, 3 place de Fontenoy, 75007 Paris",
        "cnil_url": "https://www.cnil.fr/fr/plaintes",
        "commission_address": "Commission départementale de vidéoprotection de l'Isère",
        "commission_email": "videoprotection@isere.gouv.fr",
    }
    text = _page()
    complaints = text[text.index('id="reclamations"') :]
    assert "CNIL, 3 place de Fontenoy, 75007 Paris" in complaints
    assert '<a href="https://www.cnil.fr/fr/plaintes">' in complaints
    assert "Commission départementale de vidéoprotection de l'Isère" in complaints
    assert "mailto:videoprotection@isere.gouv.fr" in complaints
    assert "L253-5" in complaints


def test_the_police_nationale_is_a_recipient_only_when_cameras_are_relayed_to_it():
    camera = CameraFactory()
    assert "Le poste de la Police nationale" not in _page()
    camera.police_relay = True
    camera.save(update_fields=["police_relay"])
    assert "Le poste de la Police nationale" in _page()


FRENCH_WORDS = (
    "Responsable du traitement",
    "Vos droits",
    "Finalités",
    "Base légale",
    "Destinataires",
    "Réclamations",
    "selon les caméras",
    "jours",
    "Durée",
    "Arrêté préfectoral",
    "Signalements",
)


def test_the_page_follows_the_chosen_language_and_is_english_throughout():
    authorization = AuthorizationFactory(
        number="73-2025-0060", purposes=[Purpose.PERSONS_AND_PROPERTY]
    )
    CameraFactory(authorization=authorization, retention_days=10, police_relay=True)
    CameraFactory(authorization=authorization, retention_days=15)
    english = _page("en")
    assert '<html lang="en">' in english
    for heading in ("Data controller", "Your rights", "Legal basis", "Recipients", "Complaints"):
        assert heading in english, heading
    assert "Prefectoral order no. 73-2025-0060" in english
    assert '<dd class="retention">from 10 days to 15 days depending on the camera</dd>' in english
    assert "filmed by 2 CCTV cameras" in english
    assert "Title III of the French Data Protection Act" in english
    assert "The right to object does not apply" in english
    body = english[english.index("<main>") :]
    left = [word for word in FRENCH_WORDS if word in body]
    assert left == [], left
    french = _page("fr")
    assert '<html lang="fr">' in french
    assert all(word in french for word in FRENCH_WORDS[:6])
