"""The help beside every password field says exactly the rules the configured validators
enforce, with their own settings, in French (English when chosen)."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.password_validation import (
    get_default_password_validators,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts import passwords
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _help_items(page: str) -> list[str]:
    block = re.search(r'<ul class="password-rules">(.*?)</ul>', page, re.S)
    assert block, "the password help is missing"
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", block.group(1))]


def test_the_rules_are_those_of_the_configured_validators(settings):
    validators = get_default_password_validators()
    rules = passwords.rules()
    assert len(rules) == len(validators) == len(settings.AUTH_PASSWORD_VALIDATORS)
    minimum = next(v for v in validators if hasattr(v, "min_length")).min_length
    long_enough = next(
        v for v in validators if isinstance(v, passwords.CnilComplexityValidator)
    ).long_enough
    text = " ".join(rules)
    assert f"au minimum {minimum} caractères" in text
    assert f"moins de {long_enough} caractères" in text
    assert "minuscules, majuscules, chiffres et caractères spéciaux" in text
    assert "entièrement numérique" in text and "couramment utilisé" in text
    # Every number the help states is a setting of a validator, not a figure typed by hand.
    assert {int(n) for n in re.findall(r"\d+", text)} == {minimum, long_enough}


def test_the_help_follows_the_settings(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 10},
        },
        {"NAME": "accounts.passwords.CnilComplexityValidator", "OPTIONS": {"long_enough": 16}},
    ]
    text = " ".join(passwords.rules())
    assert "au minimum 10 caractères" in text and "moins de 16 caractères" in text
    validate_password("toutenminuscules")  # 16 letters: long enough, accepted
    with pytest.raises(ValidationError):
        validate_password("quinzeminuscule")  # 15 letters: refused under this policy


def test_what_the_help_says_is_what_is_enforced():
    # Long enough and not mixed: the help says this is refused under 14 characters only.
    validate_password("seulementdeslettres")
    with pytest.raises(ValidationError):
        validate_password("lettresseules")  # 13 characters
    with pytest.raises(ValidationError):
        validate_password("Aa1!aa")  # mixed but under the minimum length
    validate_password("Rouge-Vert-7b")  # 13 characters, all four kinds


@pytest.mark.parametrize(
    "url",
    [
        "/comptes/mot-de-passe/",
        "/comptes/utilisateurs/nouveau/",
        "/comptes/utilisateurs/{pk}/mot-de-passe/",
    ],
)
def test_every_password_form_shows_the_policy(signed_in, admin_user, url):
    other = UserFactory()
    page = signed_in(admin_user).get(url.format(pk=other.pk)).content.decode()
    assert _help_items(page) == passwords.rules()


def test_the_help_is_in_english_when_chosen():
    with translation.override("en"):
        text = " ".join(passwords.rules())
    assert "at least 12 characters" in text
    assert "fewer than 14 characters" in text


def test_the_api_documents_the_same_rules(signed_in, supervisor):
    schema = signed_in(supervisor).get("/api/schema/?format=json").json()
    field = schema["components"]["schemas"]["UserRequest"]["properties"]["password"]
    assert field["description"] == " ".join(passwords.rules())
