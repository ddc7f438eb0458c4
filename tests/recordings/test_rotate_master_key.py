"""manage.py rotate_master_key: day keys move to the new master key; media stay as they are."""

from __future__ import annotations

import base64
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from cameras.models import Camera
from recordings import crypto, keys
from recordings.models import DataKey

pytestmark = pytest.mark.django_db


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


def test_rotation_rewraps_every_day_key_so_the_new_master_key_alone_opens_them(
    settings, old_and_new, day_keys
):
    old, new = old_and_new
    key_id, data_key = next(iter(day_keys.items()))
    ciphertext = crypto.encrypt_segment(b"image bytes", data_key, key_id)

    output = _rotate(settings, old, new)

    assert "2 keys re-wrapped" in output
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""  # the old key is gone
    new_fingerprint = crypto.MasterKey.from_base64(new).fingerprint.hex()
    for key in DataKey.objects.all():
        assert key.master_fingerprint == new_fingerprint
        assert keys.unwrap(key) == day_keys[key.key_id]
    # Media were not touched: what the first day key sealed still opens with it.
    rewrapped = keys.unwrap(DataKey.objects.get(key_id=key_id))
    assert crypto.decrypt_segment(ciphertext, rewrapped) == b"image bytes"
    event = AuditEvent.objects.filter(action="recording.master_key_rotated").get()
    assert event.actor_name == "manage.py rotate_master_key"
    assert event.details["keys_rewrapped"] == 2


def test_running_it_twice_rewraps_nothing_more(settings, old_and_new, day_keys):
    old, new = old_and_new
    _rotate(settings, old, new)
    assert "0 keys re-wrapped" in _rotate(settings, old, new)


def test_dry_run_counts_without_changing(settings, old_and_new, day_keys):
    old, new = old_and_new
    output = _rotate(settings, old, new, "--dry-run")
    assert "2 under the previous master key, 0 already under the new one" in output
    old_fingerprint = crypto.MasterKey.from_base64(old).fingerprint.hex()
    assert set(DataKey.objects.values_list("master_fingerprint", flat=True)) == {old_fingerprint}


def test_refuses_without_the_previous_key(settings, old_and_new, day_keys):
    settings.RECORDINGS_MASTER_KEY = old_and_new[1]
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""
    with pytest.raises(CommandError, match="CSU_PREVIOUS_MASTER_KEY is not set"):
        call_command("rotate_master_key")


def test_refuses_a_previous_key_that_did_not_wrap_the_day_keys(settings, old_and_new, day_keys):
    _, new = old_and_new
    with pytest.raises(CommandError, match="neither key given"):
        _rotate(settings, _new_key(), new)
    old_fingerprint = crypto.MasterKey.from_base64(old_and_new[0]).fingerprint.hex()
    assert set(DataKey.objects.values_list("master_fingerprint", flat=True)) == {old_fingerprint}


def test_refuses_the_same_key_twice(settings, old_and_new, day_keys):
    old, _ = old_and_new
    with pytest.raises(CommandError, match="the same key"):
        _rotate(settings, old, old)
