"""The public information page states the city's signing-key fingerprint."""

from __future__ import annotations

import pytest
from django.test import Client

from evidence import manifest

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
