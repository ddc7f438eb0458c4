"""Day keys in the database, wrapped by key-encryption keys kept in the key store.

Three levels (recordings.crypto): the master key, held in configuration, wraps the
key-encryption keys (KEKs) of the key store (recordings.keystore); a KEK wraps the day keys of
one period of ``CSU_KEY_PERIOD_DAYS`` days and one retention; a day key encrypts one camera's
segments of one day. The purge destroys a day key once its footage is gone, and a KEK once its
period is over and it wraps no live day key — so that a database backup taken before the
destruction no longer opens anything either. Held footage outlives its period: its day keys are
moved under a holds KEK first (:func:`day_keys_move_to_holds`).

Day keys made before KEKs existed are wrapped by the master key itself (``kek`` empty); they
still open, and go with their retention as before.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction

from accounts.actors import Actor, SystemActor
from audit.services import record
from cameras.models import Camera
from recordings import crypto, keystore
from recordings.models import DataKey, KeyEncryptionKey

logger = logging.getLogger(__name__)


class KeyDestroyed(Exception):
    """The day key was destroyed: that day's media can no longer be read, by anyone."""


def master_keys() -> list[crypto.MasterKey]:
    """The current master key first, then the previous one while a rotation is under way."""
    keys = [crypto.MasterKey.from_base64(settings.RECORDINGS_MASTER_KEY)]
    if settings.RECORDINGS_PREVIOUS_MASTER_KEY:
        keys.append(crypto.MasterKey.from_base64(settings.RECORDINGS_PREVIOUS_MASTER_KEY))
    return keys


# --- Key-encryption keys ----------------------------------------------------------------------


def period_of(day: date) -> tuple[date, date]:
    """The period [start, end) of ``CSU_KEY_PERIOD_DAYS`` days that holds ``day``."""
    length = settings.RECORDINGS_KEY_PERIOD_DAYS
    ordinal = day.toordinal()
    start = date.fromordinal(ordinal - ordinal % length)
    return start, start + timedelta(days=length)


def _kek_name(kind: str, start: date, retention_days: int) -> str:
    tail = secrets.token_hex(4)  # a recreated period never reuses a destroyed KEK's name
    if kind == KeyEncryptionKey.Kind.HOLDS:
        return f"holds-{start:%Y%m%d}-{tail}"
    return f"period-{start:%Y%m%d}-{retention_days}d-{tail}"


def _live_kek(
    kind: str, start: date, end: date, retention_days: int
) -> tuple[KeyEncryptionKey, bytes]:
    """The live KEK of this kind, period and retention, created (key store first) if needed."""
    live = KeyEncryptionKey.objects.filter(
        kind=kind, period_start=start, retention_days=retention_days, destroyed_at__isnull=True
    )
    row = live.first()
    if row is not None:
        return row, kek_material(row)
    master = master_keys()[0]
    material = crypto.new_data_key()
    name = _kek_name(kind, start, retention_days)
    store = keystore.storage()
    keystore.put(name, material, master, store)  # durable before any day key depends on it
    try:
        with transaction.atomic():
            row = KeyEncryptionKey(
                name=name,
                kind=kind,
                period_start=start,
                period_end=end,
                retention_days=retention_days,
            )
            row.full_clean(validate_constraints=False)
            row.save()
            record(
                "recording.kek_created",
                actor=SystemActor("recorder" if kind == KeyEncryptionKey.Kind.PERIOD else "purge"),
                target=row,
                target_label=name,
                details={
                    "kek": name,
                    "kind": kind,
                    "period_start": start,
                    "period_end": end,
                    "retention_days": retention_days,
                },
            )
    except IntegrityError:  # another process created it at the same instant: use theirs
        keystore.delete(name, store)
        row = live.get()
        return row, kek_material(row)
    return row, material


def period_kek(day: date, retention_days: int) -> tuple[KeyEncryptionKey, bytes]:
    """The live KEK that wraps the day keys of ``day`` for cameras of this retention."""
    start, end = period_of(day)
    return _live_kek(KeyEncryptionKey.Kind.PERIOD, start, end, retention_days)


def holds_kek(today: date) -> tuple[KeyEncryptionKey, bytes]:
    """The live holds KEK of the current period: held day keys are moved under it."""
    start, end = period_of(today)
    return _live_kek(KeyEncryptionKey.Kind.HOLDS, start, end, 0)


def kek_material(kek: KeyEncryptionKey, masters: Sequence[crypto.MasterKey] | None = None) -> bytes:
    """The KEK itself, from the key store; KeyDestroyed once it is destroyed or gone."""
    if kek.destroyed_at is not None:
        raise KeyDestroyed(
            f"key-encryption key {kek.name} was destroyed on {kek.destroyed_at:%Y-%m-%d}"
        )
    try:
        return keystore.get(kek.name, masters or master_keys())
    except keystore.KekMissing as exc:
        logger.warning("key-encryption key %s is not in the key store: %s", kek.name, exc)
        raise KeyDestroyed(
            f"key-encryption key {kek.name} is no longer in the key store: the day keys it "
            "wrapped cannot be opened"
        ) from None


# --- Day keys ---------------------------------------------------------------------------------


def day_key(camera: Camera, day: date) -> tuple[DataKey, bytes]:
    """The live data key of ``camera`` for ``day``, created on first use."""
    key = (
        DataKey.objects.select_related("kek")
        .filter(camera=camera, day=day, destroyed_at__isnull=True)
        .first()
    )
    if key is None:
        key = _create_day_key(camera, day)
    return key, unwrap(key)


def _create_day_key(camera: Camera, day: date) -> DataKey:
    kek, material = period_kek(day, camera.retention_days)
    wrapper = crypto.MasterKey(material)
    generation = DataKey.objects.filter(camera=camera, day=day).count() + 1
    key_id = crypto.data_key_id(camera.code, day, generation)
    try:
        with transaction.atomic():
            key = DataKey.objects.create(
                camera=camera,
                day=day,
                key_id=key_id,
                wrapped=wrapper.wrap(key_id, crypto.new_data_key()),
                master_fingerprint=wrapper.fingerprint.hex(),
                kek=kek,
            )
            record(
                "recording.key_created",
                actor=SystemActor("recorder"),
                target=camera,
                details={"key_id": key_id, "kek": kek.name},
            )
    except IntegrityError:  # another recorder created it at the same instant
        key = DataKey.objects.select_related("kek").get(
            camera=camera, day=day, destroyed_at__isnull=True
        )
    return key


def unwrap(key: DataKey, masters: Sequence[crypto.MasterKey] | None = None) -> bytes:
    """The day key itself; KeyDestroyed when it, or the KEK that wrapped it, is gone."""
    if key.destroyed_at is not None or not key.wrapped:
        when = f" on {key.destroyed_at:%Y-%m-%d}" if key.destroyed_at else ""
        raise KeyDestroyed(f"{key.key_id} was destroyed{when}")
    kek = key.kek
    if kek is None:  # made before KEKs: wrapped by the master key itself
        return crypto.unwrap_data_key(key.key_id, bytes(key.wrapped), masters or master_keys())
    try:
        material = kek_material(kek, masters)
    except KeyDestroyed:
        # Loaded before the purge moved it under the holds KEK (a playback under way): the row
        # as it is now says where it lives.
        current = DataKey.objects.select_related("kek").filter(pk=key.pk).first()
        if current is None or (current.kek_id, bytes(current.wrapped)) == (
            key.kek_id,
            bytes(key.wrapped),
        ):
            raise
        return unwrap(current, masters)
    return crypto.MasterKey(material).unwrap(key.key_id, bytes(key.wrapped))


def day_keys_adopt(*, keys: Sequence[DataKey]) -> list[dict[str, str]]:
    """Re-wrap day keys wrapped by the master key itself (made before KEKs) under their
    period's KEK. Returns what moved (key id, KEK). Call inside a transaction that locked them."""
    moved = []
    for key in keys:
        if key.kek_id is not None or key.destroyed_at is not None or not key.wrapped:
            continue
        plain = unwrap(key)
        kek, material = period_kek(key.day, key.camera.retention_days)
        wrapper = crypto.MasterKey(material)
        key.wrapped = wrapper.wrap(key.key_id, plain)
        key.master_fingerprint = wrapper.fingerprint.hex()
        key.kek = kek
        key.save(update_fields=["wrapped", "master_fingerprint", "kek"])
        moved.append({"key_id": key.key_id, "kek": kek.name})
    return moved


def day_keys_move_to_holds(*, keys: Sequence[DataKey], today: date, actor: Actor) -> int:
    """Re-wrap these live day keys under the holds KEK, so that their period's KEK can go
    while their held footage stays readable. Returns how many moved. Call inside a transaction
    that locked the keys."""
    todo = [key for key in keys if key.destroyed_at is None and key.wrapped]
    if not todo:
        return 0
    holds, material = holds_kek(today)
    wrapper = crypto.MasterKey(material)
    moved = []
    for key in todo:
        if key.kek_id == holds.pk:
            continue
        plain = unwrap(key)
        previous = key.kek.name if key.kek is not None else "master"
        key.wrapped = wrapper.wrap(key.key_id, plain)
        key.master_fingerprint = wrapper.fingerprint.hex()
        key.kek = holds
        key.save(update_fields=["wrapped", "master_fingerprint", "kek"])
        moved.append({"key_id": key.key_id, "from": previous})
    if moved:
        record(
            "recording.keys_moved_to_holds",
            actor=actor,
            target=holds,
            target_label=holds.name,
            reason="hold",
            details={"kek": holds.name, "keys": moved},
        )
    return len(moved)


@dataclass(frozen=True)
class WrappedKeys:
    """Another app's keys wrapped by the master key: a model and its key id / wrapped fields."""

    label: str
    model: type[models.Model]
    key_id_field: str
    wrapped_field: str


_WRAPPED_ELSEWHERE: list[WrappedKeys] = []


def register_wrapped_keys(
    label: str, model: type[models.Model], *, key_id_field: str, wrapped_field: str
) -> None:
    """Called from an app's ready(): its keys are then re-wrapped with the day keys."""
    entry = WrappedKeys(label, model, key_id_field, wrapped_field)
    if entry not in _WRAPPED_ELSEWHERE:
        _WRAPPED_ELSEWHERE.append(entry)


def _rewrap_elsewhere(entry: WrappedKeys, old: crypto.MasterKey, new: crypto.MasterKey) -> int:
    count = 0
    rows = (
        entry.model._default_manager.select_for_update()
        .exclude(**{f"{entry.wrapped_field}__isnull": True})
        .exclude(**{entry.key_id_field: ""})
        .values_list("pk", entry.key_id_field, entry.wrapped_field)
    )
    for pk, key_id, wrapped in rows:
        blob = bytes(wrapped)
        if not blob or crypto.wrapped_fingerprint(blob) == new.fingerprint:
            continue
        entry.model._default_manager.filter(pk=pk).update(
            **{entry.wrapped_field: crypto.rewrap_data_key(key_id, blob, old, new)}
        )
        count += 1
    return count


@transaction.atomic
def master_key_rotate(*, old: crypto.MasterKey, new: crypto.MasterKey, actor: Actor) -> int:
    """Re-wrap every live key under ``new`` — the KEKs of the key store (the holds KEKs
    included), the day keys still wrapped by the master key itself, and the keys other apps
    registered (scanned requisitions, export packages, extracts); media are not touched.

    One key that does not open with ``old`` leaves the database as it was (the key store may
    then hold some KEKs under ``new`` too: the same keys, harmless, reused by the next run).
    The KEKs' objects under ``old`` are deleted once the transaction commits. Returns the
    number of keys re-wrapped.
    """
    store = keystore.storage()
    names = list(
        KeyEncryptionKey.objects.select_for_update()
        .filter(destroyed_at__isnull=True)
        .order_by("pk")
        .values_list("name", flat=True)
    )
    try:
        keks = sum(keystore.rewrap(name, old, new, store) for name in names)
    except keystore.KekMissing as exc:
        raise crypto.KeyUnwrapError(str(exc)) from None
    day_keys = 0
    legacy = DataKey.objects.select_for_update().filter(destroyed_at__isnull=True, kek__isnull=True)
    for key in legacy:
        if bytes.fromhex(key.master_fingerprint) == new.fingerprint:
            continue
        key.wrapped = crypto.rewrap_data_key(key.key_id, bytes(key.wrapped), old, new)
        key.master_fingerprint = new.fingerprint.hex()
        key.save(update_fields=["wrapped", "master_fingerprint"])
        day_keys += 1
    others = {entry.label: _rewrap_elsewhere(entry, old, new) for entry in _WRAPPED_ELSEWHERE}
    record(
        "recording.master_key_rotated",
        actor=actor,
        details={
            "keks_rewrapped": keks,
            "keys_rewrapped": day_keys,
            "other_keys_rewrapped": others,
            "new_fingerprint": new.fingerprint.hex(),
        },
    )

    def forget_old() -> None:
        for name in names:
            keystore.forget_other_masters(name, [new], store)

    transaction.on_commit(forget_old)
    return keks + day_keys + sum(others.values())
