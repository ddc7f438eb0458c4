"""French by default, English on request (browser preference or the language switch)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_french_is_the_default():
    page = Client().get("/comptes/login/").content.decode()
    assert '<html lang="fr">' in page
    assert "Se connecter" in page


def test_the_browser_language_alone_does_not_switch_to_english():
    # The service's language is French whatever the workstation's setup; English is a choice.
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/comptes/login/").content.decode()
    assert '<html lang="fr">' in page


def test_language_switch_turns_the_sign_in_page_into_english():
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/comptes/login/"})
    page = client.get("/comptes/login/").content.decode()
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "Se connecter" not in page


def test_language_switch_turns_an_admin_page_into_english(signed_in, admin_user):
    client = signed_in(admin_user)
    assert "Créer un compte" in client.get("/comptes/utilisateurs/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/comptes/utilisateurs/"})
    page = client.get("/comptes/utilisateurs/").content.decode()
    assert '<html lang="en">' in page
    assert "Create an account" in page
    assert "Créer un compte" not in page


def test_form_errors_are_translated(signed_in, admin_user):
    client = signed_in(admin_user)
    client.post("/i18n/setlang/", {"language": "en"})
    response = client.post("/comptes/habilitations/nouvelle/", {})
    assert "This field is required." in response.content.decode()
