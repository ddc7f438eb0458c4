"""The tile's recording alert: the recorders page's rule, pushed to the viewers as it changes."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from cameras import recording_state
from live.pipeline import Hub, Source, Viewer
from recordings.models import RecorderLease
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory
from tests.live.helpers import bright_clip, communicator, messages_until, outcome, session_cookie

NO_RECORDER = "Aucun enregistreur ne tient la caméra."


def take_lease(camera, *, expires_in: float = 30) -> RecorderLease:
    """A recorder that just took the camera: recording, no segment due yet."""
    now = timezone.now()
    lease, _ = RecorderLease.objects.update_or_create(
        camera=camera,
        defaults={
            "holder": "recorder@test:1",
            "acquired_at": now,
            "renewed_at": now,
            "expires_at": now + timedelta(seconds=expires_in),
            "state": RecorderLease.State.RECORDING,
        },
    )
    return lease


@pytest.mark.django_db
def test_the_wall_reads_the_recorders_pages_alert(settings):
    settings.RECORDING_SEGMENT_SECONDS = 60
    unrecorded, recorded, lapsed = (CameraFactory() for _ in range(3))
    take_lease(recorded)
    take_lease(lapsed, expires_in=-5)
    alerts = recording_state.recording_alerts([unrecorded.pk, recorded.pk, lapsed.pk])
    assert alerts == {unrecorded.pk: NO_RECORDER, recorded.pk: "", lapsed.pk: NO_RECORDER}


@pytest.mark.django_db
def test_the_wall_page_marks_the_cameras_not_recorded(signed_in, operator):
    silent = CameraFactory(code="CAM-001")
    take_lease(CameraFactory(code="CAM-002"))
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    page = signed_in(operator).get("/direct/").content.decode()
    start = page.index('id="wall-data"')
    cameras = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert {c["code"]: c["alert"] for c in cameras} == {"CAM-001": NO_RECORDER, "CAM-002": ""}
    assert silent.name in page


@pytest.mark.slow
@pytest.mark.usefixtures("fast_live")
def test_viewers_are_told_when_the_alert_appears_and_clears(tmp_path):
    clip = bright_clip(tmp_path / "c.mp4", size=(320, 180), seconds=4)
    alerts = {7: ""}
    reads: list[list[int]] = []

    def source(camera_ids):
        reads.append(camera_ids)
        return dict(alerts)

    hub = Hub(loader=lambda camera_id: Source(clip.as_uri(), "", "", []), alerts=source)

    async def next_alert(viewer: Viewer) -> str:
        while True:
            item = await asyncio.wait_for(viewer.queue.get(), 10)
            if isinstance(item, str) and json.loads(item)["type"] == "recording":
                return json.loads(item)["alert"]

    async def scenario():
        loop = asyncio.get_running_loop()
        first, second = Viewer(loop), Viewer(loop)
        hub.join(7, first)
        assert await next_alert(first) == ""
        alerts[7] = NO_RECORDER
        assert await next_alert(first) == NO_RECORDER
        # A viewer arriving later is told at once; both are told when it clears.
        hub.join(7, second)
        assert await next_alert(second) == NO_RECORDER
        alerts[7] = ""
        assert await next_alert(first) == ""
        assert await next_alert(second) == ""
        hub.leave(7, first)
        hub.leave(7, second)

    try:
        asyncio.run(scenario())
    finally:
        hub.stop_all()
    # One read for all the watched cameras at a time, whatever the number of viewers.
    assert reads and all(ids == [7] for ids in reads)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_live")
def test_the_stream_carries_the_alert_and_its_end_within_seconds(clips, operator, settings):
    settings.RECORDING_SEGMENT_SECONDS = 60
    camera = CameraFactory(code="CAM-A01", stream_url=clips["motion"].as_uri())
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    cookie = session_cookie(operator)

    def alert(value):
        return lambda m: (
            isinstance(m, dict) and m.get("type") == "recording" and (m["alert"] == value)
        )

    async def scenario():
        comm = communicator(camera.code, cookie)
        assert await outcome(comm) is None
        await messages_until(comm, alert(NO_RECORDER), timeout=10)
        # A recorder takes the camera: the tile's alert clears by itself.
        lease = await sync_to_async(take_lease)(camera)
        await messages_until(comm, alert(""), timeout=6)
        # Its lease lapses (the recorder died): the alert is back.
        lease.expires_at = timezone.now() - timedelta(seconds=1)
        await sync_to_async(lease.save)()
        await messages_until(comm, alert(NO_RECORDER), timeout=6)
        await comm.disconnect()

    async_to_sync(scenario)()
