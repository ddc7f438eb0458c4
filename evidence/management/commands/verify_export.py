"""``manage.py verify_export PACKAGE``: OK, or the exact file or signature that fails."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evidence import verifier


class Command(BaseCommand):
    help = "Vérifie un paquet d'extraction (dossier ou archive ZIP) : signature et empreintes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("package", help="dossier extrait ou archive ZIP du paquet")

    def handle(self, *args, **options) -> None:
        location = Path(options["package"])
        if not location.exists():
            raise CommandError(f"{location} n'existe pas")
        failures = verifier.verify(location)
        for line in failures:
            self.stdout.write(line)
        if failures:
            raise CommandError(f"{len(failures)} échec(s)")
        self.stdout.write("OK")
