from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit import integrity


class Command(BaseCommand):
    help = "Verify the whole audit chain and its signed checkpoints; name the first broken event."

    def handle(self, *args, **options) -> None:
        result = integrity.verify_and_record(actor_name="manage.py verify_audit")
        if not result.ok:
            raise CommandError(
                f"audit chain BROKEN at event #{result.first_broken_seq}: "
                + "; ".join(result.problems)
            )
        self.stdout.write(
            f"audit chain OK: {result.events_checked} events, "
            f"{result.checkpoints_checked} signed checkpoints, "
            + (f"newest anchor {result.anchor}" if result.anchor else "no anchor written yet")
            + "".join(
                f"; anchors stepped back as declared by event #{seq}" for seq in result.step_backs
            )
        )
