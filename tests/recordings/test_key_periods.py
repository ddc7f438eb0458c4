"""Key-encryption keys per period: kept in the key store, destroyed by the purge once spent."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta

import pytest
from django.core import serializers
from django.utils import timezone

from audit.models import AuditEvent
from recordings import crypto, holds, keys, keystore, purge, store
from recordings.models import DataKey, Hold, KeyEncryptionKey, PurgeRun, Segment
from tests.recordings.retention import assert_consistent, make_camera, payload, record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def isolated(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_KEY_STORE_DIR = tmp_path / "keystore"
    return tmp_path / "keystore"


def _stored(name: str) -> bool:
    return bool(keystore.fingerprints(name))


def _hold(camera, segment, expires_at, start=None):
    return holds.hold_place(
        camera=camera,
        starts_at=start or segment.started_at,
        ends_at=segment.ended_at,
        basis=Hold.Basis.MANUAL,
        reason="Rixe signalée",
        justification="Gel demandé par le chef de salle en attendant la réquisition.",
        case_reference="PV 2026/000512",
        expires_at=expires_at,
        actor="test",
    )


def test_day_keys_are_wrapped_by_their_periods_key_whose_material_never_reaches_the_database(
    isolated,
):
    camera = make_camera("CAM-K1", retention_days=15)
    other = make_camera("CAM-K2", retention_days=30)
    day = date(2026, 3, 2)
    key, data_key = keys.day_key(camera, day)
    key_other, _ = keys.day_key(other, day)
    again, same = keys.day_key(camera, day)

    assert (again.pk, same) == (key.pk, data_key)
    kek = key.kek
    assert kek.kind == "period" and kek.retention_days == 15
    assert (kek.period_start, kek.period_end) == keys.period_of(day)
    assert key_other.kek != kek and key_other.kek.retention_days == 30  # one KEK per retention
    material = keys.kek_material(kek)
    assert crypto.MasterKey(material).unwrap(key.key_id, bytes(key.wrapped)) == data_key
    # The master key alone does not open the day key: its KEK is needed.
    with pytest.raises(crypto.KeyUnwrapError):
        crypto.unwrap_data_key(key.key_id, bytes(key.wrapped), keys.master_keys())
    # The KEK sits in the key store, wrapped by the master key, and nowhere in the database.
    master = keys.master_keys()[0]
    (path,) = list(isolated.glob(f"{kek.name}/*.key"))
    assert path.name == f"{master.fingerprint.hex()}.key"
    assert master.unwrap(kek.name, path.read_bytes()) == material
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    dump = serializers.serialize(
        "json", [*KeyEncryptionKey.objects.all(), *DataKey.objects.all()]
    ).encode()
    assert material not in dump and material.hex().encode() not in dump
    created = AuditEvent.objects.filter(action="recording.kek_created")
    assert {event.details["kek"] for event in created} == {kek.name, key_other.kek.name}


def test_periods_span_the_configured_number_of_days(settings):
    settings.RECORDINGS_KEY_PERIOD_DAYS = 7
    start, end = keys.period_of(date(2026, 3, 4))
    assert end - start == timedelta(days=7) and start <= date(2026, 3, 4) < end
    assert keys.period_of(start) == keys.period_of(end - timedelta(days=1)) == (start, end)
    camera = make_camera("CAM-K3")
    first, _ = keys.day_key(camera, start)
    last, _ = keys.day_key(camera, end - timedelta(days=1))
    following, _ = keys.day_key(camera, end)
    assert first.kek == last.kek != following.kek


def test_the_purge_destroys_a_periods_key_once_it_wraps_no_live_day_key(isolated):
    now = timezone.now()
    camera = make_camera("CAM-K4", retention_days=15)
    old = record_segments(camera, now - timedelta(days=20), 2)
    recent = record_segments(camera, now - timedelta(days=1), 1)
    old_kek = DataKey.objects.get(pk=old[0].key_id).kek
    recent_kek = DataKey.objects.get(pk=recent[0].key_id).kek

    result = purge.purge_run(now=now)

    assert result.keks == 1
    old_kek.refresh_from_db()
    assert old_kek.destroyed_at is not None and old_kek.run == result.run
    assert not _stored(old_kek.name) and not (isolated / old_kek.name).exists()
    assert PurgeRun.objects.get(pk=result.run.pk).keks_destroyed == 1
    event = AuditEvent.objects.get(action="recording.kek_destroyed")
    assert event.details["keks"][0]["kek"] == old_kek.name
    assert event.details["keks"][0]["day_keys"] == 1
    recent_kek.refresh_from_db()
    assert recent_kek.destroyed_at is None and _stored(recent_kek.name)
    assert store.segment_read(recent[0]) == payload(camera, recent[0].started_at)
    assert_consistent(now)
    # A second run finds nothing more to destroy.
    assert purge.purge_run(now=now).keks == 0


def test_a_periods_key_waits_for_its_period_to_be_well_over(settings):
    now = timezone.now()
    camera = make_camera("CAM-K5", retention_days=1)
    segment = record_segments(camera, now - timedelta(days=2), 1)[0]
    kek = DataKey.objects.get(pk=segment.key_id).kek
    # The segment and its day key go, but the period ended less than two days ago.
    result = purge.purge_run(now=now)
    assert result.segments == 1 and result.keks == 0
    kek.refresh_from_db()
    assert kek.destroyed_at is None
    assert purge.purge_run(now=now + timedelta(days=2)).keks == 1


def test_held_day_keys_move_under_the_holds_key_and_come_back_under_the_purge_when_released():
    now = timezone.now()
    camera = make_camera("CAM-K6", retention_days=15)
    segment = record_segments(camera, now - timedelta(days=20), 1)[0]
    period_kek = DataKey.objects.get(pk=segment.key_id).kek
    hold = _hold(camera, segment, now + timedelta(days=30))

    purge.purge_run(now=now)

    key = DataKey.objects.select_related("kek").get(pk=segment.key_id)
    assert key.kek.kind == "holds" and key.destroyed_at is None
    period_kek.refresh_from_db()
    assert period_kek.destroyed_at is not None
    assert store.segment_read(Segment.objects.get(pk=segment.pk)) == payload(
        camera, segment.started_at
    )
    moved = AuditEvent.objects.get(action="recording.keys_moved_to_holds")
    assert moved.details["keys"] == [{"key_id": key.key_id, "from": period_kek.name}]
    # The holds key lives while it wraps a live day key, whatever its period.
    assert purge.purge_run(now=now + timedelta(days=5)).keks == 0

    holds.hold_release(hold=hold, reason="Procédure classée sans suite", actor="test")
    purge.purge_run(now=now + timedelta(days=5))
    key.refresh_from_db()
    assert key.destroyed_at is not None
    holds_kek = key.kek
    holds_kek.refresh_from_db()
    assert holds_kek.destroyed_at is not None and not _stored(holds_kek.name)


def test_day_keys_wrapped_by_the_master_key_before_periods_still_open_and_move_when_held():
    now = timezone.now()
    camera = make_camera("CAM-K7", retention_days=15)
    segment = record_segments(camera, now - timedelta(days=20), 1)[0]
    # A day key as it was made before key-encryption keys: wrapped by the master key itself.
    key = DataKey.objects.get(pk=segment.key_id)
    plain = keys.unwrap(key)
    master = keys.master_keys()[0]
    DataKey.objects.filter(pk=key.pk).update(
        kek=None,
        wrapped=master.wrap(key.key_id, plain),
        master_fingerprint=master.fingerprint.hex(),
    )
    assert store.segment_read(Segment.objects.get(pk=segment.pk)) == payload(
        camera, segment.started_at
    )
    _hold(camera, segment, now + timedelta(days=30))

    purge.purge_run(now=now)

    key.refresh_from_db()
    assert key.kek.kind == "holds"
    assert store.segment_read(Segment.objects.get(pk=segment.pk)) == payload(
        camera, segment.started_at
    )


def test_a_killed_run_leaves_nothing_readable_in_the_key_store(isolated, settings):
    now = timezone.now()
    camera = make_camera("CAM-K8", retention_days=15)
    segment = record_segments(camera, now - timedelta(days=20), 1)[0]
    kek = DataKey.objects.get(pk=segment.key_id).kek
    kept = keystore.fingerprints(kek.name)
    # A run committed the destruction, then died before deleting the key store's objects.
    purge.purge_run(now=now)
    master = keys.master_keys()[0]
    keystore.put(kek.name, b"\1" * 32, master)
    assert keystore.fingerprints(kek.name) == kept
    # And a KEK whose creation never reached the database: old, and fresh.
    keystore.put("period-20260101-15d-deadbeef", b"\2" * 32, master)
    keystore.put("period-20260102-15d-cafecafe", b"\3" * 32, master)
    old = time.time() - 2 * 3600
    for path in (isolated / "period-20260101-15d-deadbeef").iterdir():
        os.utime(path, (old, old))

    purge.purge_run(now=now)

    assert keystore.names() == ["period-20260102-15d-cafecafe"]


def test_a_live_key_whose_kek_is_missing_from_the_key_store_reads_as_destroyed(isolated):
    camera = make_camera("CAM-K9")
    key, _ = keys.day_key(camera, date(2026, 3, 2))
    keystore.delete(key.kek.name)
    with pytest.raises(keys.KeyDestroyed, match="no longer in the key store"):
        keys.unwrap(DataKey.objects.select_related("kek").get(pk=key.pk))


def test_the_destruction_register_lists_the_destroyed_period_keys(dpo, signed_in):
    now = timezone.now()
    camera = make_camera("CAM-K10", retention_days=15)
    segment = record_segments(camera, now - timedelta(days=20), 1)[0]
    kek = DataKey.objects.get(pk=segment.key_id).kek
    result = purge.purge_run(now=now)

    page = signed_in(dpo).get("/conservation/destructions/", HTTP_ACCEPT_LANGUAGE="fr")

    html = page.content.decode()
    assert page.status_code == 200
    section = html.split("Clés de période détruites")[1]
    assert kek.name in section and result.run.job_id in section
    day = kek.period_start.strftime("%d/%m/%Y")
    assert f"{day} – {day}" in section  # a one-day period, shown by its days


def test_two_recorders_creating_a_periods_key_at_once_end_up_with_one(monkeypatch):
    real_put = keystore.put
    raced = []

    def put_then_lose_the_race(name, kek, master, store=None):
        real_put(name, kek, master, store)
        if not raced:  # another recorder creates the same period's key meanwhile
            raced.append(None)
            raced.append(keys.period_kek(date(2026, 3, 2), 15))

    monkeypatch.setattr(keystore, "put", put_then_lose_the_race)
    kek, material = keys.period_kek(date(2026, 3, 2), 15)

    (winner, winner_material) = raced[1]
    assert kek == winner and material == winner_material
    assert list(KeyEncryptionKey.objects.values_list("name", flat=True)) == [winner.name]
    assert keystore.names() == [winner.name]  # the loser's object was deleted


def test_the_purge_puts_day_keys_made_before_periods_under_their_periods_key():
    now = timezone.now()
    camera = make_camera("CAM-K11", retention_days=15)
    segment = record_segments(camera, now - timedelta(days=1), 1)[0]
    key = DataKey.objects.get(pk=segment.key_id)
    plain = keys.unwrap(key)
    master = keys.master_keys()[0]
    DataKey.objects.filter(pk=key.pk).update(
        kek=None,
        wrapped=master.wrap(key.key_id, plain),
        master_fingerprint=master.fingerprint.hex(),
    )

    purge.purge_run(now=now)

    key = DataKey.objects.select_related("kek").get(pk=key.pk)
    assert key.kek.kind == "period" and key.kek.period_start == keys.period_of(key.day)[0]
    with pytest.raises(crypto.KeyUnwrapError):  # the master key alone no longer opens it
        crypto.unwrap_data_key(key.key_id, bytes(key.wrapped), keys.master_keys())
    assert keys.unwrap(key) == plain
    event = AuditEvent.objects.get(action="recording.keys_adopted")
    assert event.details["keys"] == [{"key_id": key.key_id, "kek": key.kek.name}]
    assert purge.purge_run(now=now).state == "done"
    assert AuditEvent.objects.filter(action="recording.keys_adopted").count() == 1
