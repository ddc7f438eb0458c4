"""The retention purge: time travel, crypto-shredding, kills, concurrency, refusals."""

from __future__ import annotations

import random
import shutil
import threading
from datetime import UTC, timedelta

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from audit.models import AuditEvent
from recordings import crypto, holds, keys, purge, store
from recordings.models import DataKey, DestructionRecord, Hold, PurgeRun, Segment
from tests.recordings.retention import assert_consistent, make_camera, payload, record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _hold(camera, start, end, now=None):
    return holds.hold_place(
        camera=camera,
        starts_at=start,
        ends_at=end,
        basis=Hold.Basis.MANUAL,
        reason="Rixe signalée",
        justification="Conservation demandée par le chef de salle en attente de réquisition.",
        case_reference="PV 2026/000512",
        expires_at=(now or timezone.now()) + timedelta(days=30),
        actor="test",
    )


def test_segments_past_retention_are_destroyed_and_the_register_says_so():
    now = timezone.now()
    camera = make_camera("CAM-01", retention_days=15)
    old = record_segments(camera, now - timedelta(days=16), 3)
    recent = record_segments(camera, now - timedelta(days=2), 2)

    result = purge.purge_run(now=now)

    assert result.state == "done" and result.segments == 3
    for segment in old:
        segment.refresh_from_db()
        assert segment.state == Segment.State.DESTROYED
        assert not default_storage.exists(segment.storage_path)
    for segment in recent:
        segment.refresh_from_db()
        assert segment.state == Segment.State.STORED
        assert store.segment_read(segment) == payload(camera, segment.started_at)
    entry = DestructionRecord.objects.get()
    assert entry.camera == camera and entry.segment_count == 3
    assert entry.bytes == sum(s.size for s in old)
    assert entry.digest == purge.segments_digest(s.sha256 for s in old)
    assert entry.window_start == old[0].started_at and entry.window_end == old[-1].ended_at
    assert entry.keys == [old[0].key.key_id]  # that day has no live segment left
    assert entry.run.job_id == result.run.job_id
    event = AuditEvent.objects.get(action="recording.destroyed")
    assert event.details["entries"][0]["entry"] == entry.pk
    assert_consistent(now)


def test_a_destroyed_day_key_makes_a_surviving_copy_unreadable(tmp_path):
    now = timezone.now()
    camera = make_camera("CAM-02", retention_days=10)
    segment = record_segments(camera, now - timedelta(days=11), 1)[0]
    backup = default_storage.open(segment.storage_path, "rb").read()  # a copy on a backup tape

    purge.purge_run(now=now)

    key = DataKey.objects.get(pk=segment.key_id)
    assert key.destroyed_at is not None and bytes(key.wrapped) == b""
    with pytest.raises(keys.KeyDestroyed):
        keys.unwrap(key)
    with pytest.raises(keys.KeyDestroyed):
        crypto.decrypt_segment(
            backup, keys.unwrap(DataKey.objects.select_related("kek").get(key_id=key.key_id))
        )


def test_held_segments_survive_and_still_decrypt_until_the_hold_is_released():
    now = timezone.now()
    camera = make_camera("CAM-03", retention_days=15)
    segments = record_segments(camera, now - timedelta(days=20), 6)
    hold = _hold(camera, segments[2].started_at + timedelta(seconds=10), segments[3].ended_at)

    purge.purge_run(now=now)

    states = [Segment.objects.get(pk=s.pk).state for s in segments]
    assert states == ["destroyed", "destroyed", "stored", "stored", "destroyed", "destroyed"]
    for segment in segments[2:4]:
        assert store.segment_read(segment) == payload(camera, segment.started_at)
    assert DataKey.objects.get(pk=segments[0].key_id).destroyed_at is None  # still in use
    assert_consistent(now)

    holds.hold_release(hold=hold, reason="Réquisition reçue et traitée", actor="test")
    purge.purge_run(now=now)
    assert not Segment.objects.filter(state="stored").exists()
    assert DataKey.objects.get(pk=segments[0].key_id).destroyed_at is not None
    assert_consistent(now)


def test_an_expired_hold_no_longer_protects():
    now = timezone.now()
    camera = make_camera("CAM-04", retention_days=15)
    segments = record_segments(camera, now - timedelta(days=16), 2)
    _hold(camera, segments[0].started_at, segments[-1].ended_at)
    later = now + timedelta(days=61)  # the hold expired at now + 60 days

    purge.purge_run(now=now)
    assert Segment.objects.filter(state="stored").count() == 2
    purge.purge_run(now=later)
    assert Segment.objects.filter(state="stored").count() == 0


def test_each_camera_keeps_its_own_retention():
    now = timezone.now()
    short = make_camera("CAM-05", retention_days=3)
    long = make_camera("CAM-06", retention_days=30)
    record_segments(short, now - timedelta(days=5), 2)
    record_segments(long, now - timedelta(days=5), 2)
    purge.purge_run(now=now)
    assert set(Segment.objects.filter(state="stored").values_list("camera__code", flat=True)) == {
        "CAM-06"
    }
    assert_consistent(now)


def test_a_rerun_changes_nothing_and_batches_write_one_entry_per_camera_each():
    now = timezone.now()
    first, second = make_camera("CAM-07"), make_camera("CAM-08")
    record_segments(first, now - timedelta(days=20), 5)
    record_segments(second, now - timedelta(days=20), 3)
    result = purge.purge_run(now=now, batch_size=4)
    assert result.segments == 8
    # batch 1: 4 of CAM-07; batch 2: 1 of CAM-07 + 3 of CAM-08
    assert sorted(DestructionRecord.objects.values_list("camera__code", "segment_count")) == [
        ("CAM-07", 1),
        ("CAM-07", 4),
        ("CAM-08", 3),
    ]
    events = AuditEvent.objects.filter(action="recording.destroyed").count()
    again = purge.purge_run(now=now, batch_size=4)
    assert again.segments == 0 and again.keys == 0
    assert DestructionRecord.objects.count() == 3
    assert AuditEvent.objects.filter(action="recording.destroyed").count() == events
    assert_consistent(now)


def test_unused_day_keys_of_past_days_are_destroyed():
    now = timezone.now()
    camera = make_camera("CAM-09", retention_days=5)
    key, _ = keys.day_key(camera, timezone.localdate(now - timedelta(days=9)))
    today, _ = keys.day_key(camera, timezone.localdate(now))
    purge.purge_run(now=now)
    key.refresh_from_db()
    today.refresh_from_db()
    assert key.destroyed_at is not None and today.destroyed_at is None
    entry = DestructionRecord.objects.get()
    assert entry.segment_count == 0 and entry.keys == [key.key_id]


# --- Kill safety ---------------------------------------------------------------------------------


class Killed(BaseException):
    """Stands for SIGKILL: nothing after the raising point runs."""


KILL_POINTS = [
    ("recordings.purge._destroy_keys_without_live_segments", "before"),
    ("recordings.purge._account", "before"),
    ("recordings.purge._account", "after"),
    ("recordings.purge._delete_objects", "before"),
    ("recordings.purge._delete_objects", "after"),
    ("recordings.purge._mark_objects_deleted", "before"),
    ("recordings.purge._delete_entry_objects", "after"),
    ("recordings.purge._destroy_unused_keys", "before"),
    ("recordings.purge._sweep_expired_folders", "before"),
    ("recordings.purge._move_held_keys", "before"),
    ("recordings.purge._destroy_spent_keks", "before"),
    ("recordings.purge._forget_keks", "before"),
]


@pytest.mark.parametrize("seed", range(12))
def test_killed_at_a_random_point_a_rerun_leaves_store_index_and_register_consistent(
    seed, monkeypatch
):
    rng = random.Random(seed)
    now = timezone.now()
    cameras = [make_camera(f"CAM-K{i}", retention_days=rng.choice([3, 7])) for i in range(2)]
    for camera in cameras:
        record_segments(camera, now - timedelta(days=8), rng.randint(3, 7))
        record_segments(camera, now - timedelta(days=1), 2)
    target, when = rng.choice(KILL_POINTS)
    _, function_name = target.rsplit(".", 1)
    original = getattr(purge, function_name)
    calls = {"n": 0}
    kill_at = rng.randint(1, 2)

    def killer(*args, **kwargs):
        calls["n"] += 1
        if when == "before" and calls["n"] == kill_at:
            raise Killed
        result = original(*args, **kwargs)
        if when == "after" and calls["n"] == kill_at:
            raise Killed
        return result

    monkeypatch.setattr(purge, function_name, killer)
    killed = False
    try:
        purge.purge_run(now=now, batch_size=rng.randint(1, 4))
    except Killed:
        killed = True
    monkeypatch.setattr(purge, function_name, original)
    # A real kill leaves the run "running": the next run takes over once it is stale.
    PurgeRun.objects.filter(state="failed").update(state="running")
    PurgeRun.objects.filter(state="running").update(heartbeat_at=now - timedelta(hours=1))

    result = purge.purge_run(now=now)
    assert result.state == "done"
    assert PurgeRun.objects.filter(state="interrupted").count() == int(killed)
    assert_consistent(now)


def test_a_run_killed_without_cleanup_blocks_others_until_stale():
    now = timezone.now()
    PurgeRun.objects.create(
        job_id="killed", as_of=now, started_at=now, heartbeat_at=now, state="running"
    )
    if connection.vendor == "postgresql":
        # The advisory lock died with the killed process: its row is closed at once.
        assert purge.purge_run(now=now).state == "done"
    else:
        assert purge.purge_run(now=now).state == "busy"
        PurgeRun.objects.filter(job_id="killed").update(heartbeat_at=now - timedelta(hours=1))
        assert purge.purge_run(now=now).state == "done"
    assert PurgeRun.objects.get(job_id="killed").state == "interrupted"


def test_object_names_that_would_leave_the_store_are_never_deleted(media):
    outside = media.parent / "outside.txt"
    outside.write_text("not ours")
    for name in ["../outside.txt", "/etc/hostname", "segments//x", "segments\\..\\x", ""]:
        with pytest.raises(ValueError):
            purge._delete_objects([name])
    assert outside.exists()


# --- Refusals ------------------------------------------------------------------------------------


def test_refuses_when_the_index_is_empty_but_the_store_holds_objects(media):
    folder = media / "segments" / "CAM-X" / "2026" / "01" / "01"
    folder.mkdir(parents=True)
    (folder / "000000-abc.csuseg").write_bytes(b"x")
    result = purge.purge_run()
    assert result.state == "refused"
    event = AuditEvent.objects.get(action="recording.purge_refused")
    assert "index has no live segment" in event.details["problem"]
    assert (folder / "000000-abc.csuseg").exists()


def test_refuses_when_the_store_lost_the_indexed_objects(media):
    now = timezone.now()
    camera = make_camera("CAM-10")
    segments = record_segments(camera, now - timedelta(days=20), 3)
    shutil.rmtree(media / "segments")  # an unmounted volume
    result = purge.purge_run(now=now)
    assert result.state == "refused"
    assert Segment.objects.filter(state="stored").count() == len(segments)
    assert PurgeRun.objects.get().state == "refused"
    assert not DestructionRecord.objects.exists()


def test_refuses_when_the_store_is_unreachable(monkeypatch):
    now = timezone.now()
    camera = make_camera("CAM-11")
    record_segments(camera, now - timedelta(days=20), 2)

    def unreachable(self, name):
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(FileSystemStorage, "listdir", unreachable)
    assert purge.purge_run(now=now).state == "refused"
    assert Segment.objects.filter(state="stored").count() == 2
    assert (
        "store unreachable"
        in AuditEvent.objects.get(action="recording.purge_refused").details["problem"]
    )


def test_unindexed_objects_past_retention_are_deleted_but_recent_ones_are_not(media):
    now = timezone.now()
    camera = make_camera("CAM-12", retention_days=5)
    record_segments(camera, now - timedelta(days=1), 1)
    old_day = (now - timedelta(days=8)).astimezone(UTC)
    old = media / "segments" / "CAM-12" / f"{old_day:%Y/%m/%d}"
    old.mkdir(parents=True)
    (old / "120000-orphan.csuseg").write_bytes(b"partial")
    result = purge.purge_run(now=now)
    assert result.orphans == 1
    assert not old.exists()  # the emptied day folder went too
    assert AuditEvent.objects.filter(action="recording.orphans_deleted").count() == 1
    assert Segment.objects.filter(state="stored").count() == 1


# --- Property: whatever the layout, nothing overdue survives, nothing held is lost ------------


@hsettings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layout=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=30),  # retention
            st.lists(st.integers(min_value=0, max_value=40 * 24), min_size=0, max_size=4),
            st.lists(st.tuples(st.integers(0, 40 * 24), st.integers(1, 48)), max_size=2),
        ),
        min_size=1,
        max_size=3,
    ),
    batch=st.integers(min_value=1, max_value=5),
)
def test_property_nothing_overdue_survives_and_everything_held_does(layout, batch):
    shutil.rmtree(default_storage.location, ignore_errors=True)
    with transaction.atomic():  # each example starts from an empty index
        _property_example(layout, batch)
        transaction.set_rollback(True)


def _property_example(layout, batch):
    now = timezone.now().replace(microsecond=0)
    held = []
    for index, (retention, ages, windows) in enumerate(layout):
        camera = make_camera(f"CAM-P{index}", retention_days=retention)
        for hours in sorted(set(ages)):
            record_segments(camera, now - timedelta(hours=hours, minutes=5), 1, seconds=120)
        for start_hours, length in windows:
            start = now - timedelta(hours=start_hours)
            # A hold covers footage already filmed: a window reaching into the future stops now.
            end = min(start + timedelta(hours=length), now)
            if end <= start:
                continue
            try:
                hold = _hold(camera, start, end)
            except holds.FootageUnavailable:
                continue
            held.extend(
                Segment.objects.filter(
                    camera=camera, started_at__lt=hold.ends_at, ended_at__gt=hold.starts_at
                )
            )
    purge.purge_run(now=now, batch_size=batch)
    assert_consistent(now)
    for segment in held:
        segment.refresh_from_db()
        assert segment.state == Segment.State.STORED
        assert store.segment_read(segment) == payload(segment.camera, segment.started_at)
    for key in DataKey.objects.filter(destroyed_at__isnull=False):
        for segment in key.segments.all():
            with pytest.raises(keys.KeyDestroyed):
                keys.unwrap(segment.key)


# --- Concurrency ---------------------------------------------------------------------------------


def _in_thread(target, results, index, barrier):
    from django.db import connection as thread_connection

    try:
        barrier.wait()
        results[index] = target()
    except BaseException as exc:  # reported by the test
        results[index] = exc
    finally:
        thread_connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_purges_and_holds_do_not_collide():
    now = timezone.now()
    cameras = [make_camera(f"CAM-C{i}", retention_days=15) for i in range(3)]
    segments = {c.pk: record_segments(c, now - timedelta(days=16), 6) for c in cameras}
    target = segments[cameras[0].pk][2]

    def place():
        try:
            return _hold(cameras[0], target.started_at, target.ended_at)
        except holds.FootageUnavailable as exc:
            return exc

    jobs = [lambda: purge.purge_run(now=now, batch_size=2) for _ in range(3)] + [place]
    results: list = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))
    threads = [
        threading.Thread(target=_in_thread, args=(job, results, i, barrier))
        for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    errors = [
        r
        for r in results
        if isinstance(r, BaseException) and not isinstance(r, holds.FootageUnavailable)
    ]
    assert not errors, errors
    states = sorted(r.state for r in results[:3])
    assert "done" in states and set(states) <= {"done", "busy"}
    hold = results[3]
    target.refresh_from_db()
    if isinstance(hold, Hold):  # placed first: the purge skipped the segment
        assert target.state == Segment.State.STORED
        assert store.segment_read(target) == payload(cameras[0], target.started_at)
    else:  # destroyed first: the refusal cites the register
        assert target.state == Segment.State.DESTROYED
        assert hold.destroyed_at == DestructionRecord.objects.get(pk=hold.entry.pk).destroyed_at
    purge.purge_run(now=now)
    assert_consistent(now)
    assert not PurgeRun.objects.filter(state="running").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_take_disjoint_segments():
    """Below the run lock, batches lock their rows: two at once never share a segment."""
    now = timezone.now()
    camera = make_camera("CAM-D1", retention_days=15)
    record_segments(camera, now - timedelta(days=16), 12)
    runs = [
        PurgeRun.objects.create(
            job_id=f"batch-{i}", as_of=now, started_at=now, heartbeat_at=now, state="done"
        )
        for i in range(2)
    ]

    def batches(run):
        cams = purge._cameras(now)
        done = []
        while cams:
            done.extend(purge._destroy_batch(run, cams, now, 3, "test"))
        return done

    results: list = [None, None]
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=_in_thread, args=(lambda r=run: batches(r), results, i, barrier))
        for i, run in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert sum(e.segment_count for r in results for e in r) == 12
    assert Segment.objects.filter(state="destroyed").count() == 12
    purge.finish_leftovers()
    assert_consistent(now)
