from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from recordings import store
from recordings.models import Segment


class Command(BaseCommand):
    help = (
        "Compare the media store with the segment index: list objects without rows and rows "
        "without objects. Deletes nothing; exits non-zero when they disagree."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--limit", type=int, default=50, help="How many of each kind to list (default 50)."
        )

    def handle(self, *args, **options) -> None:
        limit = options["limit"]
        result = store.reconcile()
        orphans, missing = result.objects_without_rows, result.rows_without_objects
        if orphans:
            self.stdout.write(f"{len(orphans)} stored object(s) without an index row:")
            for path in orphans[:limit]:
                self.stdout.write(f"  {path}")
            if len(orphans) > limit:
                self.stdout.write(f"  … and {len(orphans) - limit} more")
        if missing:
            self.stdout.write(f"{len(missing)} index row(s) whose object is missing:")
            segments = Segment.objects.filter(pk__in=missing[:limit]).select_related("camera")
            for segment in segments.order_by("started_at"):
                self.stdout.write(
                    f"  segment {segment.pk} {segment.camera.code} "
                    f"{segment.started_at:%Y-%m-%d %H:%M:%S%z} {segment.storage_path}"
                )
            if len(missing) > limit:
                self.stdout.write(f"  … and {len(missing) - limit} more")
        if orphans or missing:
            raise CommandError(
                f"recordings index and store disagree: {len(orphans)} object(s) without row, "
                f"{len(missing)} row(s) without object; nothing was deleted"
            )
        self.stdout.write("recordings index and store agree")
