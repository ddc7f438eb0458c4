"""``manage.py verify_audit_pack PACK``: OK, or the exact key, file or signature that fails.

The pack must be signed by this server's key and be an audit pack (an evidence package, signed
with the same key, is refused).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compliance import pack
from evidence.management.commands.verify_export import report


class Command(BaseCommand):
    help = (
        "Vérifie un dossier de contrôle (dossier ou archive ZIP) : clé de signature du CSU, "
        "signature et empreintes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("pack", help="dossier extrait ou archive ZIP du dossier de contrôle")

    def handle(self, *args, **options) -> None:
        location = Path(options["pack"])
        if not location.exists():
            raise CommandError(f"{location} n'existe pas")
        report(self, pack.check(location))
