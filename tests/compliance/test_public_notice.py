"""The public information page states the city's signing-key fingerprint."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.utils import translation

from audit import records
from evidence import manifest
from tests.cameras.factories import CameraFactory

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
    with translation.override("en"):  # the page is French whatever the visitor's language
        response = Client(headers={"accept-language": "en"}).get("/public/information/")
    text = html.unescape(response.content.decode())
    table = text[text.index('<table id="durees-conservation">') :]
    table = table[: table.index("</table>")]
    assert "de 10 jours à 15 jours selon les caméras" in table
    assert "<td>Signalements (main courante de la salle)</td><td>2 ans</td>" in table
    for kind in records.kinds():
        with translation.override("fr"):
            assert f"<td>{kind.label}</td>" in table
    assert "Paquets d'images remis à la justice" in table
    assert "jamais téléchargé, 5 jours après l'expiration de son dernier lien" in table
    assert "Journal d'audit :" not in table  # summed up in one sentence below the table
    assert "est conservé de 1 an à 3 ans selon la nature de l'opération" in text
