"""Re-wrap every live day key under the new master key (CSU_MASTER_KEY); media are not touched."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recordings import crypto, keys
from recordings.models import DataKey

ACTOR = "manage.py rotate_master_key"


class Command(BaseCommand):
    help = (
        "Re-wrap the day keys and every other wrapped key from the previous master key "
        "(CSU_PREVIOUS_MASTER_KEY) "
        "to the new one (CSU_MASTER_KEY), all or nothing, then check that the new key alone "
        "opens them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="only count the live day keys under each master key",
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        new = self._master("CSU_MASTER_KEY", settings.RECORDINGS_MASTER_KEY)
        if not settings.RECORDINGS_PREVIOUS_MASTER_KEY:
            raise CommandError(
                "CSU_PREVIOUS_MASTER_KEY is not set: give the old master key there and the new "
                "one in CSU_MASTER_KEY"
            )
        old = self._master("CSU_PREVIOUS_MASTER_KEY", settings.RECORDINGS_PREVIOUS_MASTER_KEY)
        if old.fingerprint == new.fingerprint:
            raise CommandError("CSU_MASTER_KEY and CSU_PREVIOUS_MASTER_KEY are the same key")

        live = DataKey.objects.filter(destroyed_at__isnull=True)
        names = {new.fingerprint.hex(): "new", old.fingerprint.hex(): "previous"}
        counts = Counter(
            names.get(fingerprint, "other")
            for fingerprint in live.values_list("master_fingerprint", flat=True)
        )
        if counts["other"]:
            raise CommandError(
                f"{counts['other']} live day keys are wrapped under neither key given: "
                "was CSU_PREVIOUS_MASTER_KEY the key in use before?"
            )
        if dry_run:
            self.stdout.write(
                f"live day keys: {counts['previous']} under the previous master key, "
                f"{counts['new']} already under the new one"
            )
            return

        try:
            rewrapped = keys.master_key_rotate(old=old, new=new, actor=ACTOR)
        except crypto.KeyUnwrapError as exc:
            raise CommandError(f"nothing changed: {exc}") from None

        for key_id, wrapped in live.values_list("key_id", "wrapped"):
            try:
                new.unwrap(key_id, bytes(wrapped))
            except crypto.KeyUnwrapError as exc:
                raise CommandError(f"after re-wrapping, the new key fails: {exc}") from None
        self.stdout.write(
            f"{rewrapped} keys re-wrapped (day keys, scanned requisitions, export packages, "
            f"extracts); all {live.count()} live day keys open with the new master key alone. "
            "CSU_PREVIOUS_MASTER_KEY can now be removed."
        )

    @staticmethod
    def _master(name: str, value: str) -> crypto.MasterKey:
        try:
            return crypto.MasterKey.from_base64(value)
        except ValueError as exc:
            raise CommandError(f"{name}: {exc}") from None
