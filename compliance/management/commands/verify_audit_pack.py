"""``manage.py verify_audit_pack PACK``: OK, or the exact file or signature that fails."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compliance import pack


class Command(BaseCommand):
    help = "Vérifie un dossier de contrôle (dossier ou archive ZIP) : signature et empreintes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("pack", help="dossier extrait ou archive ZIP du dossier de contrôle")

    def handle(self, *args, **options) -> None:
        location = Path(options["pack"])
        if not location.exists():
            raise CommandError(f"{location} n'existe pas")
        failures = pack.verify(location)
        for line in failures:
            self.stdout.write(line)
        if failures:
            raise CommandError(f"{len(failures)} échec(s)")
        self.stdout.write("OK")
