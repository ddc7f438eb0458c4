from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit import anchor, integrity


class Command(BaseCommand):
    help = (
        "After restoring the database from a backup: declare in the audit chain that the "
        "anchors written before go beyond it, then anchor the restored chain."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reason", required=True, help="the incident and the restore")

    def handle(self, *args, **options) -> None:
        try:
            event = integrity.acknowledge_anchor_step_back(
                reason=options["reason"], actor_name="manage.py acknowledge_anchor_step_back"
            )
            written = anchor.write_anchor()
        except (ValueError, anchor.AnchorError) as exc:
            raise CommandError(str(exc)) from None
        details = event.details
        self.stdout.write(
            f"declared by event #{event.seq}: anchors up to #{details['highest_anchored_seq']}, "
            f"chain restored up to #{details['chain_head_seq']}"
            + (f"; chain head #{written[0].seq} anchored in {written[1]}" if written else "")
        )
