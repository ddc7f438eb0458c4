"""``manage.py verify_export PACKAGE``: OK, or the exact key, file or signature that fails.

The package must be signed by this server's evidence key: a package re-signed with any other
key is refused, however valid its signature, and so is an audit pack.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import signals
from evidence import manifest, verifier


class Command(BaseCommand):
    help = (
        "Vérifie un paquet d'extraction (dossier ou archive ZIP) : clé de signature du CSU, "
        "signature et empreintes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("package", help="dossier extrait ou archive ZIP du paquet")

    def handle(self, *args, **options) -> None:
        location = Path(options["package"])
        if not location.exists():
            raise CommandError(f"{location} n'existe pas")
        result = verifier.check(
            location, fingerprints=manifest.trusted_fingerprints(), kind=manifest.KIND
        )
        if result.failures:
            # The same package failing the same way again is the same incident.
            digest = hashlib.sha256(
                "\n".join([location.name, *result.failures]).encode()
            ).hexdigest()
            signals.report_integrity_failure(
                key=f"evidence.export_verification:{digest}",
                detector="export.verification_failed",
                summary="; ".join(result.failures[:5]),
                details={
                    "package": location.name,
                    "failures": result.failures[:50],
                    "fingerprint": result.fingerprint or "",
                },
                at=timezone.now(),
            )
        report(self, result)


def report(command: BaseCommand, result: verifier.Result) -> None:
    """Print a verification's outcome; a failure ends the command with a non-zero status."""
    for line in result.failures:
        command.stdout.write(line)
    if result.failures:
        if result.fingerprint:
            command.stdout.write(f"Clé de signature du paquet : {result.fingerprint}")
        raise CommandError(f"{len(result.failures)} échec(s)")
    command.stdout.write(f"Nature : {verifier.KINDS.get(result.kind or '', '?')}")
    command.stdout.write(f"Clé de signature : {result.fingerprint} (clé de ce serveur, vérifiée)")
    command.stdout.write("OK")
