"""The polygon editor's words (static/js/mask-editor.js), in the visitor's language."""

from __future__ import annotations

from django.utils.formats import get_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _


def editor_text(*, areas: bool = False) -> dict[str, str]:
    """Given to the script as JSON: it holds no words of its own. ``areas``: an extract's areas
    rather than privacy masks."""
    return {
        "count": _("Zones : %s") if areas else _("Polygones : %s"),
        "keys": _("Positions clés de la zone choisie : %s"),
        "decimal": str(get_format("DECIMAL_SEPARATOR")),
        "locale": get_language() or "fr",
    }
