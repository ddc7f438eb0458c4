"""``manage.py build_audit_pack --since 2026-01-01 --until 2026-01-31 -o dossier.zip``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.actors import SystemActor
from compliance import pack


class Command(BaseCommand):
    help = "Produit le dossier de contrôle signé d'une période (jours inclus, heure de Paris)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", required=True, type=date.fromisoformat)
        parser.add_argument("--until", required=True, type=date.fromisoformat)
        parser.add_argument("-o", "--output", type=Path, help="fichier ZIP (par défaut : nommé)")

    def handle(self, *args, **options) -> None:
        if options["until"] < options["since"]:
            raise CommandError("--until précède --since")
        zone = timezone.get_current_timezone()
        start = datetime.combine(options["since"], time.min, zone)
        end = datetime.combine(options["until"] + timedelta(days=1), time.min, zone)
        name, data = pack.build(
            start=start, end=end, actor=SystemActor("manage.py build_audit_pack")
        )
        output = options["output"] or Path(name)
        output.write_bytes(data)
        self.stdout.write(str(output))
