"""Decoder-hostile but legal streams: H.265 Main, Main 10, 4:4:4 12-bit, odd picture sizes.

Each format is recorded by the real recorder (stream copy from a file:// camera), then played
back plain and masked, snapshotted, health-checked and exported with its mask burnt in. Each
either works — pictures decoded, mask pixels filled, a browser-playable H.264 for playback — or,
on a server that cannot decode the format, says so in words: never a 500, never a black image.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from django.utils import timezone

from accounts.roles import Role
from cameras import health, video
from cameras.models import HealthStatus
from evidence import packages
from evidence.models import Export, Requisition
from recordings import remux, store
from recordings.models import Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import CameraFactory, PrivacyMaskFactory
from tests.evidence.conftest import intake_payload
from tests.factories import UserFactory
from tests.recordings.media import moving_frame
from tests.recordings.procedures import access_request_covering, request_key

pytestmark = pytest.mark.django_db(transaction=True)

#: name → (encoder, pixel format, width, height, what the decoder reports as profile).
FORMATS = {
    "hevc-main": ("libx265", "yuv420p", 320, 240, "Main"),
    "hevc-main10": ("libx265", "yuv420p10le", 320, 240, "Main 10"),
    "hevc-rext-444-12bit": ("libx265", "yuv444p12le", 320, 240, "Rext"),
    "hevc-1366x768": ("libx265", "yuv420p", 1366, 768, "Main"),
    "hevc-444-1278x719": ("libx265", "yuv444p", 1278, 719, "Rext"),
}
#: The left half of the picture, masked by software.
LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
FPS = 12
UNDECODABLE = "ne peut pas être décodé sur ce serveur"


def hostile_clip(path: Path, encoder: str, pix_fmt: str, width: int, height: int) -> Path:
    """One second of moving picture in the given format, a key frame every half second."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.gop_size = FPS // 2
        stream.codec_context.options = {
            "preset": "ultrafast",
            "x265-params": f"keyint={FPS // 2}:min-keyint={FPS // 2}:scenecut=0:log-level=none",
        }
        for index in range(FPS):
            image = moving_frame(index, width, height)
            image[:, : width // 2] = np.maximum(image[:, : width // 2], 96)  # never black
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {name: hostile_clip(folder / f"{name}.mp4", *spec[:4]) for name, spec in FORMATS.items()}


@pytest.fixture(autouse=True)
def _data(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    settings.CAMERA_CONNECT_TIMEOUT = 3
    settings.CAMERA_SAMPLE_SECONDS = 1


def _recorded_camera(clip: Path, code: str, masked_by=None):
    """A camera on the clip, recorded for a couple of seconds by the real recorder."""
    camera = CameraFactory(code=code, stream_url=f"file://{clip}")
    if masked_by is not None:
        PrivacyMaskFactory(
            camera=camera,
            polygons=[{"points": LEFT_HALF, "mode": "software"}],
            author=masked_by,
            validated_by=masked_by,
            validated_at=timezone.now(),
        )
    stop = threading.Event()
    timer = threading.Timer(2.6, stop.set)
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
    assert len(segments) >= 2
    # A file:// camera runs on its media clock: its last segment may end a moment from now.
    time.sleep(max(0.0, (segments[-1].ended_at - timezone.now()).total_seconds()) + 0.1)
    return camera, segments


def _frames(data: bytes) -> tuple[av.codec.context.CodecContext, list[np.ndarray]]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        images = [frame.to_ndarray(format="bgr24") for frame in container.decode(stream)]
        return stream.codec_context, images


def _assert_masked(image: np.ndarray) -> None:
    """Left half filled by the mask, right half a real picture (not black)."""
    height, width = image.shape[:2]
    inside = image[height // 10 : -height // 10, width // 20 : width * 9 // 20]
    outside = image[height // 10 : -height // 10, width * 11 // 20 : -width // 20]
    assert inside.mean() < 8, f"mask not filled: mean {inside.mean():.1f}"
    assert outside.mean() > 40 and outside.std() > 5, "the unmasked part is black or flat"


def _assert_picture(image: np.ndarray) -> None:
    assert image.mean() > 40 and image.std() > 5, "a black or flat picture"


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%dT%H:%M:%S}"


def _watch(client, camera, start, end) -> bytes:
    """Replay through the pages, within the access request of a person filmed there: the form,
    the player, the video bytes as the browser gets them."""
    request = access_request_covering(camera, start, end, dpo=UserFactory(role=Role.DPO))
    response = client.post(
        f"/enregistrements/relecture/{camera.code}/",
        {
            "procedure": request_key(request),
            "start": _local(start),
            # The form counts whole seconds; the request covers only what was already filmed.
            "end": _local(min(end + timedelta(seconds=1), request.ends_at)),
            "reason": "Vérification d'un signalement",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 302, response.context["form"].errors
    token = re.search(r"/lecture/([^/]+)/$", response["Location"])[1]
    video_response = client.get(
        f"/enregistrements/relecture/{camera.code}/lecture/{token}/video.mp4"
    )
    assert video_response.status_code == 200
    return b"".join(video_response.streaming_content)


def _export(client_of, opj, magistrate, supervisor, camera, start, end, procedure) -> Export:
    """Requisition, approval and export through the API; the export task runs eagerly."""
    from csu.celery import app

    response = client_of(opj).post(
        "/api/requisitions/",
        intake_payload(camera.code, start=start, end=end, procedure_number=procedure),
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    judge = client_of(magistrate)
    judge.get(f"/api/requisitions/{pk}/")
    response = judge.post(
        f"/api/requisitions/{pk}/decision/",
        {"outcome": "approve_all", "reason": "Nécessaire à l'enquête."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    app.conf.task_always_eager = True
    try:
        response = client_of(supervisor).post(
            f"/api/requisitions/{pk}/export/",
            {"purpose": "atteintes_personnes_biens"},
            content_type="application/json",
        )
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 202, response.content
    return Export.objects.filter(requisition=Requisition.objects.get(pk=pk)).latest("pk")


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_hostile_format_records_plays_snaps_checks_and_exports_with_masks(
    name, clips, supervisor, opj, magistrate, signed_in
):
    _encoder, pix_fmt, width, height, profile = FORMATS[name]
    camera, segments = _recorded_camera(clips[name], f"CAM-{name.upper()}"[:20], supervisor)

    # Recorded by stream copy: the camera's own format, untouched.
    codec, images = _frames(store.segment_read(segments[0]))
    assert (codec.name, codec.pix_fmt, codec.width, codec.height) == (
        "hevc",
        pix_fmt,
        width,
        height,
    )
    assert codec.profile == profile and images
    assert (segments[0].codec, segments[0].width, segments[0].height) == ("hevc", width, height)

    chief = signed_in(supervisor)
    # One recorded segment (a second) is enough to watch and export: large pictures are slow.
    start, end = segments[0].started_at, segments[0].ended_at

    # Playback, masked: a browser-playable H.264 with the mask burnt in.
    codec, images = _frames(_watch(chief, camera, start, end))
    assert (codec.name, codec.pix_fmt) == ("h264", "yuv420p") and len(images) >= FPS // 2
    for image in images[:: max(1, len(images) // 4)]:
        _assert_masked(image)

    # Snapshot, page and API: a JPEG with the mask filled.
    for url in (f"/cameras/{camera.code}/instantane.jpg", f"/api/cameras/{camera.code}/snapshot/"):
        response = chief.get(url)
        assert response.status_code == 200, response.content[:500]
        assert response["Content-Type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[:2] == (height, width)
        _assert_masked(image)

    # Health check: the picture is analysed, not judged black, frozen or unreachable.
    probe = health.probe(camera.stream_url, expected_fps=FPS, polygons=[LEFT_HALF], seconds=1)
    assert probe.status == HealthStatus.OK, probe.detail

    # Export with the mask burnt in, full picture size (odd sizes rounded down to even).
    export = _export(signed_in, opj, magistrate, supervisor, camera, start, end, f"P-{name}")
    assert export.state == Export.State.READY, export.error
    with zipfile.ZipFile(io.BytesIO(packages.package_bytes(export))) as package:
        [clip_name] = [n for n in package.namelist() if n.endswith(".mp4")]
        codec, images = _frames(package.read(clip_name))
    assert codec.name == "h264" and images
    assert (codec.width, codec.height) == (width - width % 2, height - height % 2)
    for image in images[:: max(1, len(images) // 4)]:
        _assert_masked(image)


def test_plain_playback_of_h265_is_reencoded_for_the_browser(clips, supervisor, signed_in):
    """Without masks the footage would be copied; a browser cannot play H.265 (it shows a black
    picture), so it is decoded and re-encoded to H.264 instead."""
    camera, segments = _recorded_camera(clips["hevc-main10"], "CAM-HEVC-PLAIN")
    data = _watch(signed_in(supervisor), camera, segments[0].started_at, segments[-1].ended_at)
    codec, images = _frames(data)
    assert (codec.name, codec.pix_fmt) == ("h264", "yuv420p") and len(images) >= FPS
    for image in images:
        _assert_picture(image)


def test_a_format_this_server_cannot_decode_is_said_in_words_everywhere(
    clips, supervisor, opj, magistrate, signed_in, monkeypatch
):
    """The same H.265 Main 10 camera on a server whose FFmpeg has no HEVC decoder: recording
    (stream copy) goes on; every path that needs pictures says why it has none."""
    camera, segments = _recorded_camera(clips["hevc-main10"], "CAM-NO-HEVC", supervisor)
    monkeypatch.setattr(video, "decoder_available", lambda codec: codec != "hevc")
    chief = signed_in(supervisor)
    start, end = segments[0].started_at, segments[-1].ended_at

    response = chief.post(
        f"/enregistrements/relecture/{camera.code}/",
        {
            "procedure": request_key(
                access_request_covering(camera, start, end, dpo=UserFactory(role=Role.DPO))
            ),
            "start": _local(start),
            "end": _local(end),
            "reason": "Vérification d'un signalement",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert UNDECODABLE in page and "H.265/HEVC Main 10" in page

    response = chief.get(f"/cameras/{camera.code}/instantane.jpg", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 503 and UNDECODABLE in response.content.decode()
    response = chief.get(f"/api/cameras/{camera.code}/snapshot/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert UNDECODABLE in json.loads(response.content)["detail"]

    probe = health.probe(camera.stream_url, expected_fps=FPS, seconds=1)
    assert probe.status == HealthStatus.UNREACHABLE
    assert probe.detail["undecodable"] is True and UNDECODABLE in probe.detail["error"]

    export = _export(signed_in, opj, magistrate, supervisor, camera, start, end, "P-NO-HEVC")
    assert export.state == Export.State.FAILED
    assert f"Caméra {camera.code}" in export.error and UNDECODABLE in export.error


def _garbled(source: Path, target: Path) -> Path:
    """The clip's container and H.265 parameters kept, every picture's payload scrambled: the
    decoder is fed key frames and gets no picture out of them."""
    rng = np.random.default_rng(7)
    with av.open(str(source)) as original, av.open(str(target), "w") as copy:
        stream = original.streams.video[0]
        out = copy.add_stream_from_template(stream)
        for packet in original.demux(stream):
            if packet.size == 0:
                continue
            data = bytes(packet)
            scrambled = av.Packet(
                data[:4] + rng.integers(0, 256, len(data) - 4, np.uint8).tobytes()
            )
            scrambled.pts, scrambled.dts, scrambled.time_base = (
                packet.pts,
                packet.dts,
                packet.time_base,
            )
            scrambled.is_keyframe, scrambled.stream = packet.is_keyframe, out
            copy.mux(scrambled)
    return target


def test_a_stream_whose_pictures_never_decode_is_not_shown_as_a_black_image(
    clips, supervisor, signed_in, tmp_path
):
    camera = CameraFactory(
        code="CAM-GARBLED",
        stream_url=f"file://{_garbled(clips['hevc-main10'], tmp_path / 'garbled.mp4')}",
    )
    response = signed_in(supervisor).get(
        f"/cameras/{camera.code}/instantane.jpg", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 503 and UNDECODABLE in response.content.decode()
    probe = health.probe(camera.stream_url, expected_fps=FPS, seconds=1)
    assert probe.status == HealthStatus.UNREACHABLE and probe.detail["undecodable"] is True
