"""The password policy: the CNIL complexity rule, and the help every password form shows.

The help is not written by hand: it is the list of the rules of the validators configured in
AUTH_PASSWORD_VALIDATORS, each saying what it enforces with its own settings (the minimum
length, the length under which a mix of characters is required...), so that it cannot drift
from the policy.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _


class CnilComplexityValidator:
    """CNIL recommendation: under 14 characters, mix upper and lower case, digits and symbols."""

    def __init__(self, long_enough: int = 14) -> None:
        self.long_enough = long_enough

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) >= self.long_enough:
            return
        kinds = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if not all(kinds):
            raise ValidationError(
                _(
                    "Un mot de passe de moins de %(n)d caractères doit contenir des minuscules, "
                    "des majuscules, des chiffres et des caractères spéciaux."
                )
                % {"n": self.long_enough},
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _(
            "S'il a moins de %(n)d caractères, votre mot de passe doit mêler minuscules, "
            "majuscules, chiffres et caractères spéciaux."
        ) % {"n": self.long_enough}


def rules() -> list[str]:
    """One sentence per configured validator, in the active language, in the settings' order."""
    return [str(validator.get_help_text()) for validator in get_default_password_validators()]


def help_html() -> SafeString:
    """The rules as a list, for the help of a password field (every form uses it)."""
    items = format_html_join("", "<li>{}</li>", ((rule,) for rule in rules()))
    return format_html('<ul class="password-rules">{}</ul>', items)


#: The help of a password field, computed when shown (in the language of the page).
help_text = lazy(help_html, SafeString)()
#: The same rules as one sentence per rule, for the API's documentation.
rules_text = lazy(lambda: " ".join(rules()), str)()
