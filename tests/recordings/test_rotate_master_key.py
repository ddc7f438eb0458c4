"""manage.py rotate_master_key: the key store's key-encryption keys (and day keys made before
them) move to the new master key; media stay as they are."""

from __future__ import annotations

import base64
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from cameras.models import Camera
from recordings import crypto, keys, keystore
from recordings.models import DataKey, KeyEncryptionKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key_store(tmp_path, settings):
    settings.RECORDINGS_KEY_STORE_DIR = tmp_path / "keystore"


def _new_key() -> str:
    return base64.b64encode(crypto.MasterKey.generate().key).decode()


@pytest.fixture
def old_and_new(settings):
    old, new = _new_key(), _new_key()
    settings.RECORDINGS_MASTER_KEY = old
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""
    return old, new


@pytest.fixture
def day_keys(old_and_new):
    camera = Camera.objects.create(code="CAM-R1", name="Gare", sector="centre", kind="fixe")
    created = {}
    for day in (date(2025, 3, 1), date(2025, 3, 2)):
        key, data_key = keys.day_key(camera, day)
        created[key.key_id] = data_key
    return created


def _rotate(settings, old: str, new: str, *args: str) -> str:
    settings.RECORDINGS_MASTER_KEY = new
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = old
    out = StringIO()
    call_command("rotate_master_key", *args, stdout=out)
    return out.getvalue()


def _fingerprint(key: str) -> str:
    return crypto.MasterKey.from_base64(key).fingerprint.hex()


def _stored_under() -> set[str]:
    return {
        fingerprint
        for name in KeyEncryptionKey.objects.values_list("name", flat=True)
        for fingerprint in keystore.fingerprints(name)
    }


def test_rotation_rewraps_every_key_encryption_key_so_the_new_master_key_alone_opens_them(
    settings, old_and_new, day_keys, django_capture_on_commit_callbacks
):
    old, new = old_and_new
    key_id, data_key = next(iter(day_keys.items()))
    ciphertext = crypto.encrypt_segment(b"image bytes", data_key, key_id)
    assert KeyEncryptionKey.objects.count() == 2  # one per day (CSU_KEY_PERIOD_DAYS=1)
    wrapped_before = dict(DataKey.objects.values_list("key_id", "wrapped"))

    with django_capture_on_commit_callbacks(execute=True):
        output = _rotate(settings, old, new)

    assert "2 keys re-wrapped" in output
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""  # the old key is gone
    for key in DataKey.objects.select_related("kek"):
        assert keys.unwrap(key) == day_keys[key.key_id]
        # Day keys stay as they are: only their key-encryption keys were re-wrapped.
        assert bytes(key.wrapped) == bytes(wrapped_before[key.key_id])
    # Once committed, the key store keeps no copy under the old master key.
    assert _stored_under() == {_fingerprint(new)}
    # Media were not touched: what the first day key sealed still opens with it.
    rewrapped = keys.unwrap(DataKey.objects.select_related("kek").get(key_id=key_id))
    assert crypto.decrypt_segment(ciphertext, rewrapped) == b"image bytes"
    event = AuditEvent.objects.filter(action="recording.master_key_rotated").get()
    assert event.actor_name == "manage.py rotate_master_key"
    assert event.details["keks_rewrapped"] == 2 and event.details["keys_rewrapped"] == 0


def test_an_old_master_key_that_leaked_opens_nothing_after_the_rotation(
    settings, old_and_new, day_keys, django_capture_on_commit_callbacks
):
    old, new = old_and_new
    with django_capture_on_commit_callbacks(execute=True):
        _rotate(settings, old, new)
    settings.RECORDINGS_MASTER_KEY = old
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""
    for key in DataKey.objects.select_related("kek"):
        with pytest.raises(keys.KeyDestroyed):
            keys.unwrap(key)


def test_day_keys_wrapped_by_the_master_key_itself_are_rewrapped_too(
    settings, old_and_new, day_keys
):
    old, new = old_and_new
    legacy = DataKey.objects.order_by("pk").first()
    master = crypto.MasterKey.from_base64(old)
    DataKey.objects.filter(pk=legacy.pk).update(
        kek=None,
        wrapped=master.wrap(legacy.key_id, day_keys[legacy.key_id]),
        master_fingerprint=master.fingerprint.hex(),
    )

    assert "3 keys re-wrapped" in _rotate(settings, old, new)

    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""
    legacy.refresh_from_db()
    assert legacy.master_fingerprint == _fingerprint(new)
    assert keys.unwrap(legacy) == day_keys[legacy.key_id]


def test_running_it_twice_rewraps_nothing_more(settings, old_and_new, day_keys):
    old, new = old_and_new
    _rotate(settings, old, new)
    assert "0 keys re-wrapped" in _rotate(settings, old, new)


def test_dry_run_counts_without_changing(settings, old_and_new, day_keys):
    old, new = old_and_new
    output = _rotate(settings, old, new, "--dry-run")
    assert "key-encryption keys: 2 under the previous master key, 0 already under the new" in output
    assert _stored_under() == {_fingerprint(old)}


def test_refuses_without_the_previous_key(settings, old_and_new, day_keys):
    settings.RECORDINGS_MASTER_KEY = old_and_new[1]
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""
    with pytest.raises(CommandError, match="CSU_PREVIOUS_MASTER_KEY is not set"):
        call_command("rotate_master_key")


def test_refuses_a_previous_key_that_did_not_wrap_the_day_keys(settings, old_and_new, day_keys):
    _, new = old_and_new
    with pytest.raises(CommandError, match="neither key given"):
        _rotate(settings, _new_key(), new)
    assert _stored_under() == {_fingerprint(old_and_new[0])}


def test_refuses_the_same_key_twice(settings, old_and_new, day_keys):
    old, _ = old_and_new
    with pytest.raises(CommandError, match="the same key"):
        _rotate(settings, old, old)
