from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CnilComplexityValidator:
    """CNIL recommendation: under 14 characters, mix upper and lower case, digits and symbols."""

    long_enough = 14

    def validate(self, password: str, user=None) -> None:
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
            "Au moins 14 caractères, ou au moins 12 mêlant minuscules, majuscules, chiffres "
            "et caractères spéciaux."
        )
