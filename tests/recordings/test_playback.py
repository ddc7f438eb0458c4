"""Replay: real recorded segments decrypted, joined, masked and served to habilitated people."""

from __future__ import annotations

import io
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import av
import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from cameras.models import Camera, PrivacyMask
from recordings import playback, remux, selectors
from recordings.models import Gap, Segment
from recordings.recorder import run_recorder
from tests import matrix_coverage
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import Matrix, check_matrix
from tests.recordings.conftest import CollectingSink
from tests.recordings.media import burnt_in_index, h264_clip, probe
from tests.recordings.procedures import key, requisition_covering
from tests.recordings.retention import store_recorded

FPS = 12
CYCLE = 24  # the 2 s source clip loops: burnt-in frame numbers run 0..23
ONLY_A = (0.2, 0.4)
OVERLAP = (0.4, 0.6)
ONLY_B = (0.6, 0.8)
CAMERA_SIDE = (0.9, 0.35)
MASK_A = [[0.1, 0.3], [0.5, 0.3], [0.5, 0.7], [0.1, 0.7]]
MASK_B = [[0.3, 0.5], [0.7, 0.5], [0.7, 0.9], [0.3, 0.9]]
MASK_CAMERA = [[0.8, 0.3], [0.95, 0.3], [0.95, 0.6]]


def local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M:%S")


def habilitate_replay(person) -> None:
    HabilitationFactory(user=person, all_cameras=True, can_live=True, can_replay=True)


def decode(data: bytes) -> list:
    with av.open(io.BytesIO(data)) as container:
        assert [s.type for s in container.streams] == ["video"]
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def max_channel(image, point: tuple[float, float]) -> int:
    height, width = image.shape[:2]
    x, y = round(point[0] * width), round(point[1] * height)
    return int(image[y - 2 : y + 3, x - 2 : x + 3].max())


def assert_consecutive(indices: list[int]) -> None:
    steps = [(b - a) % CYCLE for a, b in pairwise(indices)]
    assert set(steps) == {1}, indices


# --- Fixtures: segments the recorder really produced -----------------------------------------


@pytest.fixture(scope="session")
def recorded(tmp_path_factory) -> list[remux.Segment]:
    """About 4.5 s of a looped file:// camera cut into 1 s segments by the recorder's remuxer."""
    folder = tmp_path_factory.mktemp("playback")
    clip = h264_clip(folder / "source.mp4", seconds=2, gop=6, audio=True)
    sink = CollectingSink()
    stop = threading.Event()
    thread = threading.Thread(
        target=remux.record,
        args=(f"file://{clip}", sink),
        kwargs={"stop": stop, "settings": remux.RemuxSettings(segment_seconds=1.0)},
        daemon=True,
    )
    thread.start()
    sink.wait_for(lambda s: len(s.segments) >= 4)
    stop.set()
    thread.join(10)
    return sink.segments[:4]


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    return tmp_path


@pytest.fixture
def camera(db, media, recorded) -> Camera:
    camera = CameraFactory(code="CAM-R01")
    store_recorded(camera, recorded)
    return camera


@pytest.fixture
def segments(camera) -> list[Segment]:
    return list(Segment.objects.filter(camera=camera).order_by("started_at"))


@pytest.fixture
def supervisor_client(supervisor, signed_in) -> Client:
    return signed_in(supervisor)


@pytest.fixture
def procedure(camera, segments) -> str:
    """A requisition in course covering all the recorded footage: its key in the form."""
    return key(requisition_covering(camera, segments[0].started_at, segments[-1].ended_at))


def form_data(
    start: datetime, end: datetime, procedure: str, reason: str = "Vérification d'un signalement"
) -> dict:
    return {
        "procedure": procedure,
        "purpose": "atteintes_personnes_biens",
        "start": local(start),
        "end": local(end),
        "reason": reason,
    }


def watch(client: Client, camera: Camera, data: dict) -> tuple[str, bytes]:
    """POST the form, follow to the player, fetch the whole video: (token, MP4 bytes)."""
    response = client.post(f"/enregistrements/relecture/{camera.code}/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    token = re.search(r"/lecture/([^/]+)/$", response["Location"])[1]
    player = client.get(response["Location"])
    assert player.status_code == 200
    video_url = f"/enregistrements/relecture/{camera.code}/lecture/{token}/video.mp4"
    assert video_url in player.content.decode()
    video = client.get(video_url)
    assert video.status_code == 200
    assert video["Content-Type"] == "video/mp4"
    assert video["Accept-Ranges"] == "bytes"
    assert "no-store" in video["Cache-Control"]
    return token, b"".join(video.streaming_content)


# --- End to end -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_recorded_range_plays_as_one_mp4_with_its_frames_and_no_audio(media, signed_in):
    clip = h264_clip(media / "source.mp4", seconds=2, gop=6, audio=True)
    camera = CameraFactory(code="CAM-E2E", stream_url=f"file://{clip}")
    stop = threading.Event()
    timer = threading.Timer(4.5, stop.set)
    timer.start()
    try:
        run_recorder(
            camera.pk,
            "test-recorder",
            stop=stop,
            remux_settings=remux.RemuxSettings(segment_seconds=1.0),
            renew_every=0.5,
        )
    finally:
        timer.cancel()
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    assert len(segments) >= 3
    supervisor = UserFactory(role=Role.SUPERVISOR)
    habilitate_replay(supervisor)
    # From within the first segment to within the last complete one (the very last was cut
    # short by the stop): several segments joined.
    start = segments[0].started_at.replace(microsecond=0) + timedelta(seconds=1)
    end = segments[-2].started_at.replace(microsecond=0) + timedelta(seconds=1)
    requisition = requisition_covering(camera, start, end)
    _, data = watch(signed_in(supervisor), camera, form_data(start, end, key(requisition)))

    assert probe(data)["streams"] == ["video"]  # no audio, ever
    frames = probe(data)
    expected = (end - start).total_seconds() * FPS
    # Stream copy starts on the key frame before the start: at most one GOP (6 frames) early.
    assert expected - 2 <= frames["frames"] <= expected + 7
    assert frames["first_key"]
    assert_consecutive(frames["indices"])  # nothing lost or repeated where segments join

    event = AuditEvent.objects.get(action="recording.playback")
    assert event.actor_id == supervisor.pk
    assert event.target_id == str(camera.pk)
    assert event.reason == (
        f"Réquisition judiciaire {requisition.reference} — L251-2 5° — Prévention des atteintes "
        "à la sécurité des personnes et des biens dans des lieux particulièrement exposés à des "
        "risques d'agression, de vol ou de trafic de stupéfiants, et des fraudes douanières : "
        "Vérification d'un signalement"
    )
    assert event.details["purpose"] == "atteintes_personnes_biens"
    assert event.details["basis"] == "requisition"
    assert event.details["procedure"]["id"] == requisition.pk
    assert event.details["procedure"]["reference"] == requisition.reference
    assert datetime.fromisoformat(event.details["start"].replace("Z", "+00:00")) == start
    assert datetime.fromisoformat(event.details["end"].replace("Z", "+00:00")) == end
    assert event.details["masked"] is False


@pytest.mark.django_db
def test_video_is_served_by_byte_ranges_as_browsers_seek(
    camera, segments, supervisor_client, procedure
):
    start, end = segments[0].started_at, segments[-1].ended_at
    token, whole = watch(supervisor_client, camera, form_data(start, end, procedure))
    url = f"/enregistrements/relecture/{camera.code}/lecture/{token}/video.mp4"
    head = supervisor_client.get(url, HTTP_RANGE="bytes=0-99")
    assert head.status_code == 206
    assert head["Content-Range"] == f"bytes 0-99/{len(whole)}"
    assert head["Content-Length"] == "100"
    rest = supervisor_client.get(url, HTTP_RANGE="bytes=100-")
    assert rest.status_code == 206
    tail = supervisor_client.get(url, HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == whole[-10:]
    joined = b"".join(head.streaming_content) + b"".join(rest.streaming_content)
    assert joined == whole
    beyond = supervisor_client.get(url, HTTP_RANGE=f"bytes={len(whole)}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(whole)}"


@pytest.mark.django_db
def test_nothing_in_clear_reaches_the_disk(camera, segments, supervisor_client, media, procedure):
    start, end = segments[0].started_at, segments[-1].ended_at
    token, whole = watch(supervisor_client, camera, form_data(start, end, procedure))
    files = list((media / "data" / "playback").iterdir())
    assert [f.name for f in files] == [f"{token}.csuseg"]
    raw = files[0].read_bytes()
    assert raw.startswith(b"CSUSEG") and b"ftyp" not in raw and b"moof" not in raw
    assert whole[:4096] not in raw


@pytest.mark.django_db
def test_masked_playback_has_software_masks_burnt_in_overlaps_included(
    camera, segments, supervisor_client, supervisor, procedure
):
    PrivacyMask.objects.create(
        camera=camera,
        version=1,
        polygons=[
            {"mode": "software", "points": MASK_A},
            {"mode": "software", "points": MASK_B},
            {"mode": "camera", "points": MASK_CAMERA},
        ],
        author=supervisor,
    )
    start = segments[1].started_at.replace(microsecond=0) + timedelta(seconds=1)
    end = start + timedelta(seconds=2)
    _, data = watch(supervisor_client, camera, form_data(start, end, procedure))
    images = decode(data)
    # Decoded, masked and encoded again: the file holds exactly the frames of the range.
    assert abs(len(images) - 2 * FPS) <= 1
    for image in images:
        for point in (ONLY_A, OVERLAP, ONLY_B):
            assert max_channel(image, point) <= 30, point
        # A mask the camera applies itself is not drawn again by the software.
        assert max_channel(image, CAMERA_SIDE) > 100
    assert_consecutive([burnt_in_index(image) for image in images])
    event = AuditEvent.objects.get(action="recording.playback")
    assert event.details["masked"] is True and event.details["mask_version"] == 1


# --- Refusals and errors ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", "trop"])
def test_a_reason_is_required(camera, segments, supervisor_client, procedure, reason):
    data = form_data(segments[0].started_at, segments[-1].ended_at, procedure, reason=reason)
    response = supervisor_client.post(f"/enregistrements/relecture/{camera.code}/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not AuditEvent.objects.filter(action="recording.playback").exists()


@pytest.mark.django_db
def test_the_service_refuses_a_missing_reason_too(camera, segments, supervisor, procedure):
    with pytest.raises(playback.PlaybackError, match="motif"):
        playback.playback_create(
            camera=camera,
            start=segments[0].started_at,
            end=segments[-1].ended_at,
            reason=" ",
            procedure=("requisition", int(procedure.split(":")[1])),
            purpose="atteintes_personnes_biens",
            actor=supervisor,
            session={},
        )


@pytest.mark.django_db
def test_a_range_longer_than_the_limit_is_refused_in_words(
    camera, segments, supervisor_client, settings, procedure
):
    settings.RECORDING_PLAYBACK_MAX_SECONDS = 60
    start = segments[0].started_at - timedelta(minutes=5)
    response = supervisor_client.post(
        f"/enregistrements/relecture/{camera.code}/",
        form_data(start, start + timedelta(hours=1), procedure),
    )
    assert response.status_code == 200
    assert "durée maximale de relecture (1 min)" in response.content.decode()
    assert not AuditEvent.objects.filter(action="recording.playback").exists()


@pytest.mark.django_db
def test_a_range_without_footage_says_so(camera, segments, supervisor_client):
    start = segments[0].started_at - timedelta(minutes=10)
    end = start + timedelta(minutes=2)
    requisition = requisition_covering(camera, start, end)
    response = supervisor_client.post(
        f"/enregistrements/relecture/{camera.code}/", form_data(start, end, key(requisition))
    )
    assert "Aucun enregistrement conservé sur cette période." in response.content.decode()


@pytest.mark.django_db
def test_a_flipped_byte_gives_a_clear_error_and_an_audit_event_not_garbage(
    camera, segments, supervisor_client, media, procedure
):
    altered = segments[1]
    path = default_storage.path(altered.storage_path)
    with open(path, "r+b") as handle:
        handle.seek(altered.size // 2)
        byte = handle.read(1)
        handle.seek(altered.size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    response = supervisor_client.post(
        f"/enregistrements/relecture/{camera.code}/",
        form_data(segments[0].started_at, segments[-1].ended_at, procedure),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "a échoué au contrôle d&#x27;intégrité" in page
    event = AuditEvent.objects.get(action="recording.integrity_failed")
    assert event.details["segment"] == altered.pk
    assert "chunk" in event.details["error"]
    assert event.target_id == str(camera.pk)
    assert not AuditEvent.objects.filter(action="recording.playback").exists()
    assert not list((media / "data" / "playback").glob("*.csuseg"))  # no partial file left


@pytest.mark.django_db
def test_out_of_scope_camera_is_refused_with_the_reason(camera, signed_in):
    person = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=person, camera_codes=["CAM-AUTRE"], can_replay=True)
    response = signed_in(person).get(f"/enregistrements/relecture/{camera.code}/")
    assert response.status_code == 403
    assert "ne couvre pas cette caméra pour ce droit" in response.content.decode()
    live_only = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=live_only, all_cameras=True, can_live=True, can_replay=False)
    assert signed_in(live_only).get(f"/enregistrements/relecture/{camera.code}/").status_code == 403


@pytest.mark.django_db
def test_unknown_camera_is_404(supervisor_client):
    assert supervisor_client.get("/enregistrements/relecture/CAM-NULLE/").status_code == 404


@pytest.mark.django_db
def test_a_playback_belongs_to_its_session_and_expires(
    camera, segments, supervisor_client, supervisor, signed_in, settings, procedure
):
    token, _ = watch(
        supervisor_client,
        camera,
        form_data(segments[0].started_at, segments[-1].ended_at, procedure),
    )
    url = f"/enregistrements/relecture/{camera.code}/lecture/{token}/video.mp4"
    colleague = UserFactory(role=Role.SUPERVISOR)
    habilitate_replay(colleague)
    assert signed_in(colleague).get(url).status_code == 404
    assert signed_in(supervisor).get(url).status_code == 404  # another session of the same person
    session = supervisor_client.session
    session[playback.SESSION_KEY][token]["expires_at"] = timezone.now().isoformat()
    session.save()
    assert supervisor_client.get(url).status_code == 404


@pytest.mark.django_db
def test_timeline_shows_recorded_periods_and_gaps(camera, segments, supervisor_client):
    Gap.objects.create(
        camera=camera,
        started_at=segments[-1].ended_at + timedelta(seconds=5),
        ended_at=segments[-1].ended_at + timedelta(seconds=65),
        reason="connection lost: test",
    )
    day = timezone.localdate(segments[0].started_at)
    window = selectors.day_window(day)
    line = selectors.timeline(camera, *window)
    assert len(line.periods) == 1  # back-to-back segments make one period
    assert line.periods[0].start == segments[0].started_at
    assert line.periods[0].end == segments[-1].ended_at
    assert [g.label for g in line.gaps] == ["connection lost: test"]
    response = supervisor_client.get(
        f"/enregistrements/relecture/{camera.code}/?jour={day:%Y-%m-%d}"
    )
    page = response.content.decode()
    assert page.count('class="tl-period"') == 1 and page.count('class="tl-gap"') == 1
    assert timezone.localtime(segments[0].started_at).strftime("%H:%M:%S") in page  # Paris time
    assert "connection lost: test" in page


# --- Permission matrices ----------------------------------------------------------------------


@pytest.mark.django_db
def test_replay_index_is_for_supervisors(camera):
    check_matrix(url="/enregistrements/relecture/", allowed=[Role.SUPERVISOR])


@pytest.mark.django_db
def test_timeline_page_needs_a_replay_habilitation(camera):
    check_matrix(
        url=f"/enregistrements/relecture/{camera.code}/",
        allowed=[Role.SUPERVISOR],
        habilitate=habilitate_replay,
    )


@pytest.mark.django_db
def test_playback_post_needs_a_replay_habilitation(camera, segments, procedure):
    check_matrix(
        url=f"/enregistrements/relecture/{camera.code}/",
        method="post",
        data=form_data(segments[0].started_at, segments[-1].ended_at, procedure),
        allowed=[Role.SUPERVISOR],
        ok=[302],
        habilitate=habilitate_replay,
    )


@dataclass
class PreparedPlaybackMatrix(Matrix):
    """Each client first asks for a playback in its own session, then opens ``suffix`` of it."""

    camera_code: str = ""
    suffix: str = ""

    def _request(self, client: Client):
        form = client.post(f"/enregistrements/relecture/{self.camera_code}/", self.data)
        match = re.search(r"/lecture/([^/]+)/$", form.get("Location", ""))
        token = match[1] if match else "jeton-inconnu"
        url = f"/enregistrements/relecture/{self.camera_code}/lecture/{token}/{self.suffix}"
        matrix_coverage.note(url)
        return client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize("suffix", ["", "video.mp4"])
def test_player_and_video_need_a_replay_habilitation(camera, segments, procedure, suffix):
    PreparedPlaybackMatrix(
        url=f"/enregistrements/relecture/{camera.code}/lecture/…/{suffix}",
        camera_code=camera.code,
        suffix=suffix,
        data=form_data(segments[0].started_at, segments[-1].ended_at, procedure),
        allowed=[Role.SUPERVISOR],
        habilitate=habilitate_replay,
    ).check()


# --- In a real browser ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_supervisor_selects_on_the_timeline_and_the_browser_plays_the_video(
    live_server, camera, segments, supervisor, procedure
):
    sync_api = pytest.importorskip("playwright.sync_api")
    session = sign_in(Client(), supervisor).cookies["sessionid"].value
    day = timezone.localdate(segments[0].started_at)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{live_server.url}/enregistrements/relecture/{camera.code}/?jour={day}")
            box = page.locator("#timeline svg").bounding_box()
            page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 10)
            page.mouse.down()
            page.mouse.move(box["x"] + 0.26 * box["width"], box["y"] + 10, steps=3)
            page.mouse.up()
            assert page.input_value("#id_start") and page.input_value("#id_end")
            # The drawn selection is only a helper: watch the recorded segments.
            page.fill("#id_start", local(segments[0].started_at))
            page.fill("#id_end", local(segments[-1].ended_at + timedelta(seconds=1)))
            page.select_option("#id_procedure", procedure)
            page.select_option("#id_purpose", "atteintes_personnes_biens")
            page.fill("#id_reason", "Vérification d'un signalement")
            with page.expect_navigation():
                page.click("#playback-form button[type=submit]")
            # Polled from here: a string predicate polled inside the page needs eval, which the
            # page's Content-Security-Policy rightly forbids.
            ready = (
                "(() => { const v = document.querySelector('video');"
                " return !!v && v.readyState >= 2 && v.videoWidth > 0; })()"
            )
            deadline = time.monotonic() + 15
            while not page.evaluate(ready) and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert page.evaluate(ready), "the video did not start"
            assert page.evaluate("document.querySelector('video').videoWidth") == 320
            assert not errors
        finally:
            browser.close()


@pytest.mark.django_db
def test_a_playback_interrupted_midway_leaves_no_file(
    camera, segments, supervisor, media, monkeypatch, procedure
):
    def interrupted(camera, segments, start, end, polygons, target, actor):
        target.write(b"\x00\x00\x00\x18ftypisom partial")
        raise KeyboardInterrupt  # a worker stopped in the middle of the preparation

    monkeypatch.setattr(playback, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        playback.playback_create(
            camera=camera,
            start=segments[0].started_at,
            end=segments[-1].ended_at,
            reason="Vérification d'un attroupement signalé",
            procedure=("requisition", int(procedure.split(":")[1])),
            purpose="atteintes_personnes_biens",
            actor=supervisor,
            session={},
        )
    assert not list((media / "data" / "playback").iterdir())
    assert not AuditEvent.objects.filter(action="recording.playback").exists()
