"""Re-wrap every key wrapped by the master key under the new one (CSU_MASTER_KEY): the key
store's key-encryption keys, older day keys, other apps' keys; media are not touched."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SystemActor
from recordings import crypto, keys, keystore
from recordings.models import DataKey, KeyEncryptionKey

ACTOR = SystemActor("manage.py rotate_master_key")


class Command(BaseCommand):
    help = (
        "Re-wrap the key-encryption keys, day keys and every other wrapped key from the "
        "previous master key "
        "(CSU_PREVIOUS_MASTER_KEY) "
        "to the new one (CSU_MASTER_KEY), all or nothing, then check that the new key alone "
        "opens them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="only count the live keys under each master key",
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

        new_hex, old_hex = new.fingerprint.hex(), old.fingerprint.hex()
        store = keystore.storage()
        keks = KeyEncryptionKey.objects.filter(destroyed_at__isnull=True)
        kek_counts: Counter[str] = Counter()
        for name in keks.values_list("name", flat=True):
            stored = keystore.fingerprints(name, store)
            kek_counts[
                "new" if new_hex in stored else "previous" if old_hex in stored else "other"
            ] += 1
        # Day keys made before key-encryption keys existed are wrapped by the master key itself.
        legacy = DataKey.objects.filter(destroyed_at__isnull=True, kek__isnull=True)
        names = {new_hex: "new", old_hex: "previous"}
        legacy_counts = Counter(
            names.get(fingerprint, "other")
            for fingerprint in legacy.values_list("master_fingerprint", flat=True)
        )
        if kek_counts["other"] or legacy_counts["other"]:
            raise CommandError(
                f"{kek_counts['other']} key-encryption keys and {legacy_counts['other']} day keys "
                "are wrapped under neither key given (or missing from the key store): was "
                "CSU_PREVIOUS_MASTER_KEY the key in use before?"
            )
        if dry_run:
            self.stdout.write(
                f"key-encryption keys: {kek_counts['previous']} under the previous master key, "
                f"{kek_counts['new']} already under the new one; day keys wrapped by the master "
                f"key itself: {legacy_counts['previous']} under the previous one, "
                f"{legacy_counts['new']} under the new one"
            )
            return

        try:
            rewrapped = keys.master_key_rotate(old=old, new=new, actor=ACTOR)
        except crypto.KeyUnwrapError as exc:
            raise CommandError(f"nothing changed: {exc}") from None

        live = DataKey.objects.filter(destroyed_at__isnull=True).select_related("kek")
        for key in live:
            try:
                keys.unwrap(key, masters=[new])
            except (crypto.KeyUnwrapError, keys.KeyDestroyed) as exc:
                raise CommandError(f"after re-wrapping, the new key fails: {exc}") from None
        self.stdout.write(
            f"{rewrapped} keys re-wrapped (key-encryption keys, day keys, scanned requisitions, "
            f"export packages, extracts); all {keks.count()} key-encryption keys and "
            f"{live.count()} live day keys open with the new master key alone. "
            "CSU_PREVIOUS_MASTER_KEY can now be removed."
        )

    @staticmethod
    def _master(name: str, value: str) -> crypto.MasterKey:
        try:
            return crypto.MasterKey.from_base64(value)
        except ValueError as exc:
            raise CommandError(f"{name}: {exc}") from None
