"""Crypto-shredding that survives backups: an attacker holding a database backup taken before
the destruction, a copy of the media and the master key (which is kept) cannot read the
destroyed days once their period is over; held footage still plays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from recordings import crypto, holds, keys, playback, purge, store
from recordings.models import DataKey, Hold, Segment
from tests.cameras.factories import CameraFactory
from tests.recordings.procedures import requisition_covering
from tests.recordings.retention import make_camera, payload, record_segments, store_recorded
from tests.recordings.test_playback import decode, habilitate_replay, recorded  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_KEY_STORE_DIR = tmp_path / "keystore"


def _database_backup() -> str:
    """What ``pg_dump`` would keep of the recordings' index: every row of the app's models."""
    rows = [
        row
        for model in apps.get_app_config("recordings").get_models()
        for row in model.objects.order_by("pk")
    ]
    return serializers.serialize("json", rows)


def _restore(backup: str) -> None:
    """Put the backup's rows back over the current ones, as a restore into the database does."""
    for row in serializers.deserialize("json", backup):
        row.save()


def _media_copy(segments: list[Segment]) -> dict[str, bytes]:
    copies = {}
    for segment in segments:
        with default_storage.open(segment.storage_path, "rb") as handle:
            copies[segment.storage_path] = handle.read()
    return copies


def _put_back(copies: dict[str, bytes]) -> None:
    for path, data in copies.items():
        if not default_storage.exists(path):
            default_storage.save(path, ContentFile(data))


def _hold(camera, segment, expires_at):
    return holds.hold_place(
        camera=camera,
        starts_at=segment.started_at,
        ends_at=segment.ended_at,
        basis=Hold.Basis.MANUAL,
        reason="Rixe signalée",
        justification="Gel demandé par le chef de salle en attendant la réquisition.",
        case_reference="PV 2026/000512",
        expires_at=expires_at,
        actor="test",
    )


def test_an_old_database_backup_and_the_master_key_no_longer_open_destroyed_days():
    now = timezone.now()
    camera = make_camera("CAM-X1", retention_days=15)
    destroyed = record_segments(camera, now - timedelta(days=20), 2)
    held = record_segments(camera, now - timedelta(days=20) + timedelta(hours=3), 1)[0]
    _hold(camera, held, now + timedelta(days=30))
    other_day = record_segments(camera, now - timedelta(days=19), 1)
    # The attacker's material, taken before the destruction: database dump and media copy.
    backup = _database_backup()
    media = _media_copy(destroyed + other_day)
    wrapped_then = {
        key_id: bytes(wrapped)
        for key_id, wrapped in DataKey.objects.values_list("key_id", "wrapped")
    }

    result = purge.purge_run(now=now)
    assert result.segments == 3

    # Held footage still plays, from the live database and store.
    assert store.segment_read(Segment.objects.get(pk=held.pk)) == payload(camera, held.started_at)

    # The attacker restores the old dump and the media copy, and keeps the master key.
    _restore(backup)
    _put_back(media)
    for segment in destroyed + other_day:
        restored = Segment.objects.select_related("key").get(pk=segment.pk)
        assert restored.state == Segment.State.STORED and restored.key.destroyed_at is None
        with pytest.raises(keys.KeyDestroyed):
            store.segment_read(restored)
        # Nor does the master key open the day key the dump holds.
        with pytest.raises(crypto.KeyUnwrapError):
            crypto.unwrap_data_key(
                restored.key.key_id, wrapped_then[restored.key.key_id], keys.master_keys()
            )


def test_a_backup_taken_while_footage_was_held_dies_with_the_hold():
    now = timezone.now()
    camera = make_camera("CAM-X2", retention_days=15)
    segment = record_segments(camera, now - timedelta(days=20), 1)[0]
    hold = _hold(camera, segment, now + timedelta(days=30))
    purge.purge_run(now=now)  # the period's key goes; the held day key moves under the holds key
    assert store.segment_read(Segment.objects.get(pk=segment.pk)) == payload(
        camera, segment.started_at
    )
    backup = _database_backup()  # a dump taken while the footage is held
    media = _media_copy([segment])

    holds.hold_release(hold=hold, reason="Procédure classée sans suite", actor="test")
    purge.purge_run(now=now)  # the footage goes back under the ordinary purge
    assert Segment.objects.get(pk=segment.pk).state == Segment.State.DESTROYED
    purge.purge_run(now=now + timedelta(days=4))  # the holds key's period is over

    _restore(backup)
    _put_back(media)
    with pytest.raises(keys.KeyDestroyed):
        store.segment_read(Segment.objects.select_related("key").get(pk=segment.pk))


def test_held_footage_still_plays_once_its_periods_key_is_destroyed(
    tmp_path,
    settings,
    recorded,  # noqa: F811
    supervisor,
):
    settings.DATA_DIR = tmp_path / "data"
    habilitate_replay(supervisor)
    camera = CameraFactory(code="CAM-X3", retention_days=15)
    shift = timedelta(days=20)
    store_recorded(camera, recorded, shift)
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    period_kek = DataKey.objects.get(pk=segments[0].key_id).kek
    holds.hold_place(
        camera=camera,
        starts_at=segments[0].started_at,
        ends_at=segments[-1].ended_at,
        basis=Hold.Basis.REQUISITION,
        reason="Réquisition judiciaire",
        reference_id="2026/0042",
        expires_at=timezone.now() + timedelta(days=300),
        actor="test",
    )

    # Watched within the requisition that asked for it, as every replay is.
    requisition = requisition_covering(camera, segments[0].started_at, segments[-1].ended_at)

    purge.purge_run(now=timezone.now())

    period_kek.refresh_from_db()
    assert period_kek.destroyed_at is not None
    watched = playback.playback_create(
        camera=camera,
        start=segments[0].started_at,
        end=segments[-1].ended_at,
        reason="Réquisition 2026/0042 : visionnage avant extraction",
        procedure=("requisition", requisition.pk),
        purpose="atteintes_personnes_biens",
        actor=supervisor,
        session={},
    )
    video = playback.open_playback(watched)
    data = b"".join(video.iter_range(0, video.size - 1))
    assert decode(data)  # frames decoded from footage whose period key is gone
