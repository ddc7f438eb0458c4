"""Day keys in the database, wrapped by the master key held in configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import IntegrityError, models, transaction

from audit.services import record
from cameras.models import Camera
from recordings import crypto
from recordings.models import DataKey


class KeyDestroyed(Exception):
    """The day key was destroyed: that day's media can no longer be read, by anyone."""


def master_keys() -> list[crypto.MasterKey]:
    """The current master key first, then the previous one while a rotation is under way."""
    keys = [crypto.MasterKey.from_base64(settings.RECORDINGS_MASTER_KEY)]
    if settings.RECORDINGS_PREVIOUS_MASTER_KEY:
        keys.append(crypto.MasterKey.from_base64(settings.RECORDINGS_PREVIOUS_MASTER_KEY))
    return keys


def day_key(camera: Camera, day: date) -> tuple[DataKey, bytes]:
    """The live data key of ``camera`` for ``day``, created on first use."""
    key = DataKey.objects.filter(camera=camera, day=day, destroyed_at__isnull=True).first()
    if key is None:
        key = _create_day_key(camera, day)
    return key, unwrap(key)


def _create_day_key(camera: Camera, day: date) -> DataKey:
    master = master_keys()[0]
    generation = DataKey.objects.filter(camera=camera, day=day).count() + 1
    key_id = crypto.data_key_id(camera.code, day, generation)
    try:
        with transaction.atomic():
            key = DataKey.objects.create(
                camera=camera,
                day=day,
                key_id=key_id,
                wrapped=master.wrap(key_id, crypto.new_data_key()),
                master_fingerprint=master.fingerprint.hex(),
            )
            record(
                "recording.key_created", actor="recorder", target=camera, details={"key_id": key_id}
            )
    except IntegrityError:  # another recorder created it at the same instant
        key = DataKey.objects.get(camera=camera, day=day, destroyed_at__isnull=True)
    return key


def unwrap(key: DataKey) -> bytes:
    if key.destroyed_at is not None or not key.wrapped:
        raise KeyDestroyed(f"{key.key_id} was destroyed on {key.destroyed_at:%Y-%m-%d}")
    return crypto.unwrap_data_key(key.key_id, bytes(key.wrapped), master_keys())


def key_for_id(key_id: str) -> bytes:
    return unwrap(DataKey.objects.get(key_id=key_id))


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
        entry.model.objects.select_for_update()
        .exclude(**{f"{entry.wrapped_field}__isnull": True})
        .exclude(**{entry.key_id_field: ""})
        .values_list("pk", entry.key_id_field, entry.wrapped_field)
    )
    for pk, key_id, wrapped in rows:
        blob = bytes(wrapped)
        if not blob or crypto.wrapped_fingerprint(blob) == new.fingerprint:
            continue
        entry.model.objects.filter(pk=pk).update(
            **{entry.wrapped_field: crypto.rewrap_data_key(key_id, blob, old, new)}
        )
        count += 1
    return count


@transaction.atomic
def master_key_rotate(*, old: crypto.MasterKey, new: crypto.MasterKey, actor: object) -> int:
    """Re-wrap every live key under ``new`` — day keys and the keys other apps registered
    (scanned requisitions, export packages, extracts); media are not touched. All or nothing:
    one key that does not open with ``old`` leaves everything as it was."""
    count = 0
    for key in DataKey.objects.select_for_update().filter(destroyed_at__isnull=True):
        if bytes.fromhex(key.master_fingerprint) == new.fingerprint:
            continue
        key.wrapped = crypto.rewrap_data_key(key.key_id, bytes(key.wrapped), old, new)
        key.master_fingerprint = new.fingerprint.hex()
        key.save(update_fields=["wrapped", "master_fingerprint"])
        count += 1
    others = {entry.label: _rewrap_elsewhere(entry, old, new) for entry in _WRAPPED_ELSEWHERE}
    record(
        "recording.master_key_rotated",
        actor=actor,
        details={
            "keys_rewrapped": count,
            "other_keys_rewrapped": others,
            "new_fingerprint": new.fingerprint.hex(),
        },
    )
    return count + sum(others.values())
