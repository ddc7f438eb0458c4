from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit import anchor


class Command(BaseCommand):
    help = "Write the signed audit chain head outside the database now (audit anchor)."

    def handle(self, *args, **options) -> None:
        try:
            written = anchor.write_anchor()
        except anchor.AnchorError as exc:
            raise CommandError(str(exc)) from None
        if written is None:
            self.stdout.write("the audit chain is empty: nothing to anchor")
            return
        head, location = written
        self.stdout.write(f"chain head #{head.seq} anchored in {location}")
