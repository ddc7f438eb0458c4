"""Holds on footage still being written: a requisition for the last minutes keeps that window.

A hold is a camera × window, whatever exists when it is placed: footage indexed afterwards (the
segment the recorder was writing when the flagrant case was reported) survives the purge; only
footage already destroyed is refused, citing the destruction register.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone, translation

from evidence.models import Requisition, Window
from recordings import holds, purge, remux, store
from recordings.models import DestructionRecord, Hold, Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import intake_payload
from tests.recordings.media import h264_clip, probe
from tests.recordings.retention import assert_consistent, record_segments

RETENTION_DAYS = 15


@pytest.fixture(autouse=True)
def _data(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


def _submit(client, camera, start, end, procedure="2026/000777"):
    windows = json.dumps(
        [{"camera": camera.code, "start": start.isoformat(), "end": end.isoformat()}]
    )
    return client.post(
        "/api/requisitions/",
        intake_payload(camera.code, procedure_number=procedure, windows=windows),
        HTTP_ACCEPT_LANGUAGE="fr",
    )


def _segment(camera, start, seconds):
    """One segment stored and indexed as the recorder does when it closes."""
    [segment] = record_segments(camera, start, 1, seconds=seconds)
    return segment


def _states(segments):
    return [Segment.objects.get(pk=s.pk).state for s in segments]


@pytest.mark.django_db
def test_the_last_two_minutes_are_held_although_their_segment_is_indexed_later(opj, signed_in):
    """Five-minute segments: when the officer calls, the segment holding the fight is being
    written; it is indexed only after the requisition was received."""
    camera = CameraFactory(code="CAM-FLAG", retention_days=RETENTION_DAYS)
    now = timezone.now()
    earlier = _segment(camera, now - timedelta(minutes=9), 300)  # ends 4 min ago
    response = _submit(signed_in(opj), camera, now - timedelta(minutes=2), now)
    assert response.status_code == 201, response.content
    [window] = response.json()["windows"]
    assert window["held"] is True
    assert "en cours d'enregistrement" in window["unavailable"]
    # The recorder goes on: the segment being written closes and is indexed, then the next.
    writing = _segment(camera, now - timedelta(minutes=4), 300)  # [-4 min, +1 min)
    later = _segment(camera, now + timedelta(minutes=1), 300)
    after_retention = now + timedelta(days=RETENTION_DAYS + 1)
    result = purge.purge_run(now=after_retention)
    assert result.state == "done"
    assert _states([earlier, writing, later]) == ["destroyed", "stored", "destroyed"]
    assert_consistent(after_retention)
    # Held footage stays readable once its day's period key went.
    kept = store.segment_read(Segment.objects.get(pk=writing.pk))
    assert kept.startswith(f"{camera.code}|{writing.started_at.isoformat()}|".encode())


@pytest.mark.django_db(transaction=True)
def test_real_recorder_footage_of_a_requisition_received_mid_segment_survives_the_purge(
    tmp_path, opj, signed_in, monkeypatch
):
    """The real recorder on a file:// camera: the requisition for the last two minutes arrives
    while the first segment is still being written; that segment is held, the later ones go."""
    clip = h264_clip(tmp_path / "camera.mp4", seconds=1, gop=3, audio=False, width=160, height=96)
    camera = CameraFactory(
        code="CAM-FLAG-REC", retention_days=RETENTION_DAYS, stream_url=f"file://{clip}"
    )
    connected = threading.Event()
    opened = remux._open_source

    def open_and_tell(*args, **kwargs):
        result = opened(*args, **kwargs)
        connected.set()
        return result

    monkeypatch.setattr(remux, "_open_source", open_and_tell)
    stop = threading.Event()

    def record() -> None:
        try:
            run_recorder(
                camera.pk,
                "test-recorder",
                stop=stop,
                remux_settings=remux.RemuxSettings(segment_seconds=3.0),
                renew_every=0.5,
            )
        finally:
            connections.close_all()  # this thread's own connection

    recorder = threading.Thread(target=record)
    client = signed_in(opj)
    recorder.start()
    try:
        assert connected.wait(20), "the recorder never opened its source"
        time.sleep(0.5)  # the first pictures of the segment are being written
        assert not Segment.objects.filter(camera=camera).exists()
        asked_at = timezone.now()
        response = _submit(client, camera, asked_at - timedelta(minutes=2), asked_at)
        assert response.status_code == 201, response.content
        deadline = time.monotonic() + 30
        while Segment.objects.filter(camera=camera).count() < 3:
            assert time.monotonic() < deadline, "the recorder stored too few segments"
            time.sleep(0.2)
    finally:
        stop.set()
        recorder.join(30)
    window = Window.objects.get(requisition__procedure_number="2026/000777")
    assert window.hold is not None and window.hold.is_active()
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    inside = [s for s in segments if s.started_at < window.ends_at]
    outside = [s for s in segments if s.started_at >= window.ends_at]
    # What the test needs of the recorder: the window ends inside its first segment.
    assert inside == segments[:1] and segments[0].ended_at > window.ends_at
    assert len(outside) >= 2
    after_retention = timezone.now() + timedelta(days=RETENTION_DAYS + 1)
    assert purge.purge_run(now=after_retention).state == "done"
    assert _states(inside) == ["stored"]
    assert set(_states(outside)) == {"destroyed"}
    assert probe(store.segment_read(Segment.objects.get(pk=inside[0].pk)))["frames"] > 0


@pytest.mark.django_db
def test_a_window_entirely_in_the_future_is_refused_and_nothing_is_held(opj, signed_in):
    camera = CameraFactory(code="CAM-FUTUR")
    now = timezone.now()
    response = _submit(
        signed_in(opj), camera, now + timedelta(minutes=5), now + timedelta(minutes=20)
    )
    assert response.status_code == 400
    assert "dans le futur" in json.dumps(response.json()["windows"], ensure_ascii=False)
    assert not Requisition.objects.exists() and not Hold.objects.exists()


@pytest.mark.django_db
def test_a_hold_cannot_reach_into_the_future():
    """A hold keeps footage already filmed: one that would keep tomorrow's is refused."""
    camera = CameraFactory(code="CAM-FUTUR-2")
    now = timezone.now()
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        holds.hold_place(
            camera=camera,
            starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(hours=1),
            basis=Hold.Basis.MANUAL,
            reason="Rixe en cours",
            justification="Images à préserver.",
            case_reference="MC 2026/0042",
            expires_at=now + timedelta(days=30),
            actor="test",
        )
    assert "dans le futur" in " ".join(error.value.message_dict["ends_at"])
    assert not Hold.objects.exists()


@pytest.mark.django_db
def test_a_partly_destroyed_window_holds_the_rest_and_cites_the_register(opj, signed_in):
    camera = CameraFactory(code="CAM-PART", retention_days=RETENTION_DAYS)
    now = timezone.now()
    cutoff = now - timedelta(days=RETENTION_DAYS)
    segments = record_segments(camera, cutoff - timedelta(minutes=3), 6)
    purge.purge_run(now=now)
    assert _states(segments) == ["destroyed"] * 3 + ["stored"] * 3
    entry = DestructionRecord.objects.get(camera=camera, segment_count__gt=0)
    response = _submit(
        signed_in(opj), camera, segments[0].started_at, segments[-1].ended_at, "2026/000888"
    )
    assert response.status_code == 201, response.content
    [window] = response.json()["windows"]
    assert window["held"] is True
    assert "Une partie des images" in window["unavailable"]
    assert f"entrée n° {entry.pk}" in window["unavailable"]
    local = timezone.localtime(entry.destroyed_at)
    assert f"{local:%d/%m/%Y %H:%M}" in window["unavailable"]
    assert window["destroyed_at"] is not None
    page = signed_in(opj).get(f"/requisitions/{response.json()['id']}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert f"entrée n° {entry.pk}" in page.content.decode()
    # The rest outlives its retention.
    later = now + timedelta(days=2)
    purge.purge_run(now=later)
    assert _states(segments[3:]) == ["stored"] * 3
    assert_consistent(later)


@pytest.mark.django_db
def test_a_wholly_destroyed_window_is_refused_citing_the_register():
    camera = CameraFactory(code="CAM-GONE", retention_days=RETENTION_DAYS)
    now = timezone.now()
    segments = record_segments(camera, now - timedelta(days=RETENTION_DAYS + 1), 2)
    purge.purge_run(now=now)
    entry = DestructionRecord.objects.get(camera=camera, segment_count__gt=0)
    with translation.override("fr"), pytest.raises(holds.FootageUnavailable) as error:
        holds.hold_place(
            camera=camera,
            starts_at=segments[0].started_at,
            ends_at=segments[1].ended_at,
            basis=Hold.Basis.REQUISITION,
            reason="Réquisition",
            reference_type="evidence.requisition",
            reference_id="1",
            expires_at=now + timedelta(days=365),
            actor="intake",
        )
    assert error.value.entry == entry and f"n° {entry.pk}" in error.value.messages[0]
    assert not Hold.objects.exists()
