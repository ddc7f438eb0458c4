"""The access request's blurred extract, end to end on footage the recorder really wrote.

A looped file:// camera is recorded by ``run_recorder`` in 1 s segments; an access request
covers part of it; the agent marks where the requester is and the extract is built, validated
by the DPO, downloaded once (decrypted as the page serves it) and decoded. The source pictures
are known (``tests.recordings.media.moving_frame``): the green level gives each frame's number,
the burnt-in counter along the top edge is readable only where the picture is kept sharp.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from datetime import timedelta
from itertools import pairwise

import av
import cv2
import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from cameras.models import Camera, PrivacyMask
from compliance import extract, services
from compliance.models import AccessRequest, AccessRequestCamera
from recordings import remux
from recordings.models import Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.recordings.media import burnt_in_index, h264_clip, moving_frame

pytestmark = pytest.mark.django_db(transaction=True)

FPS = 12
WIDTH, HEIGHT = 320, 240
#: Over the burnt-in counter (top-left), where the agent saw the requester.
KEEP_COUNTER = [[[0.0, 0.0], [0.5, 0.0], [0.5, 0.4], [0.0, 0.4]]]
#: Somewhere else (bottom-right): the counter is then blurred with everything around it.
KEEP_ELSEWHERE = [[[0.6, 0.6], [0.95, 0.6], [0.95, 0.95], [0.6, 0.95]]]
#: A software privacy mask lying inside the kept area: still filled in the extract.
MASK = [[0.35, 0.15], [0.45, 0.15], [0.45, 0.3], [0.35, 0.3]]


# --- Helpers --------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[list[str], list[np.ndarray]]:
    with av.open(io.BytesIO(data)) as container:
        kinds = [stream.type for stream in container.streams]
        images = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return kinds, images


def source_index(image: np.ndarray) -> int:
    """The frame number from the green level, uniform over the picture and kept by the blur."""
    return round(float(np.median(image[:, :, 1])) / 7)


def laplacian_variance(image: np.ndarray) -> float:
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def max_channel(image: np.ndarray, point: tuple[float, float]) -> int:
    x, y = round(point[0] * WIDTH), round(point[1] * HEIGHT)
    return int(image[y - 3 : y + 4, x - 3 : x + 4].max())


def post(client, url: str, data: dict) -> list[str]:
    """POST the form, follow to the request's page; the messages it shows."""
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][1] == 302
    return [str(message) for message in response.context["messages"]]


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture
def camera(tmp_path) -> Camera:
    """A file:// camera recorded for 4.5 s by the real recorder, 1 s segments."""
    clip = h264_clip(tmp_path / "source.mp4", seconds=2, gop=6, audio=True)
    camera = CameraFactory(code="CAM-DA-X", stream_url=f"file://{clip}")
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
    assert Segment.objects.filter(camera=camera).count() >= 3
    return camera


@pytest.fixture
def agent(db):
    """A supervisor habilitated to replay and extract on every camera: the one who marks the
    requester and hands the extract over."""
    person = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(
        user=person, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    return person


@pytest.fixture
def access_request(camera, dpo) -> AccessRequest:
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    start = segments[0].started_at.replace(microsecond=0) + timedelta(seconds=1)
    end = start + timedelta(seconds=2)
    assert end <= segments[-1].ended_at
    return services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X12345678",
        description="Manteau rouge, en haut à gauche de l'image.",
        place="Place Saint-Léger",
        starts_at=start,
        ends_at=end,
        cameras=[camera],
        actor=dpo,
    )


def build_url(request: AccessRequest, camera: Camera) -> str:
    return reverse("compliance:extract_build", args=[request.pk, camera.code])


def download_url(request: AccessRequest, camera: Camera) -> str:
    return reverse("compliance:extract_download", args=[request.pk, camera.code])


def release_url(request: AccessRequest, camera: Camera) -> str:
    return reverse("compliance:extract_release", args=[request.pk, camera.code])


def prepared(row: AccessRequestCamera) -> bytes:
    """The prepared extract, decrypted as the download would serve it (no handover)."""
    row.refresh_from_db()
    return b"".join(extract.extract_stream(row))


def built_message(camera: Camera) -> list[str]:
    return [
        f"Extrait flouté de la caméra {camera.code} prêt ; le délégué à la protection des "
        "données doit le valider avant sa remise."
    ]


def download(client, request: AccessRequest, camera: Camera) -> bytes:
    response = client.get(download_url(request, camera))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert f"{request.reference}-{camera.code}.mp4" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


# --- End to end -----------------------------------------------------------------------------


def test_extract_keeps_the_marked_area_sharp_and_blurs_the_rest(
    camera, access_request, agent, dpo, signed_in
):
    PrivacyMask.objects.create(
        camera=camera, version=1, polygons=[{"mode": "software", "points": MASK}], author=agent
    )
    client = signed_in(agent)
    row = access_request.footage.get()
    assert row.hold is not None and row.hold.is_active()

    # First marking: the requester bottom-right. The counter, outside, is blurred away.
    assert post(
        client, build_url(access_request, camera), {"keep_areas": json.dumps(KEEP_ELSEWHERE)}
    ) == built_message(camera)
    _, images = decode(prepared(row))
    readable = sum(burnt_in_index(image) == source_index(image) for image in images)
    assert readable <= len(images) // 4, readable

    # The agent corrects the marking: top-left, over the counter. The extract is rebuilt.
    assert post(
        client, build_url(access_request, camera), {"keep_areas": json.dumps(KEEP_COUNTER)}
    ) == built_message(camera)
    row.refresh_from_db()
    assert row.keep_areas == KEEP_COUNTER
    assert row.extract_built_by == agent
    # The first extract is gone once the new one is on record.
    assert [path.name for path in extract.extract_folder().iterdir()] == [row.extract_path]

    # The DPO validates it on its metadata, then the agent downloads it once to hand it over.
    dpo_client = signed_in(dpo)
    page = dpo_client.get(reverse("compliance:request_detail", args=[access_request.pk]))
    assert "soit 20,0 % de l'image (au plus 25 %)" in page.content.decode()
    assert post(dpo_client, release_url(access_request, camera), {}) == [
        f"Extrait de la caméra {camera.code} validé : le chef de salle peut le télécharger "
        "une fois pour le remettre au demandeur."
    ]
    data = download(client, access_request, camera)
    assert client.get(download_url(access_request, camera)).status_code == 400
    row.refresh_from_db()
    assert row.extract_released_by == dpo and row.extract_handed_over_by == agent
    assert hashlib.sha256(data).hexdigest() == row.extract_sha256
    assert len(data) == row.extract_size
    # Never in clear on disk.
    stored = (extract.extract_folder() / row.extract_path).read_bytes()
    assert b"ftyp" not in stored and data[:4096] not in stored

    kinds, images = decode(data)
    assert kinds == ["video"]  # no audio, although the source clip has an AAC track
    # Exactly the requested window: 2 s at 12 fps (decoded, blurred and encoded again).
    assert abs(len(images) - 2 * FPS) <= 1, len(images)
    assert row.extract_frames == len(images)
    indices = [source_index(image) for image in images]
    steps = {(b - a) % 24 for a, b in pairwise(indices)}
    assert steps == {1}, indices  # consecutive frames, nothing lost where segments join

    for image, index in zip(images, indices, strict=True):
        source = moving_frame(index, WIDTH, HEIGHT)
        # Inside the kept area: the source picture, within codec tolerance, counter readable.
        assert burnt_in_index(image) == index
        inside = (slice(0, 30), slice(0, 100))
        diff = np.abs(image[inside].astype(int) - source[inside].astype(int)).mean()
        assert diff < 8, diff
        # The privacy mask is filled even though it lies inside the kept area.
        assert max_channel(image, (0.4, 0.225)) <= 30
        assert source[54, 128].max() > 100  # (there was something to hide)
        # Outside: the sharp bar edges are gone.
        outside = (slice(130, HEIGHT), slice(0, WIDTH))
        assert laplacian_variance(image[outside]) < 0.1 * laplacian_variance(source[outside])

    built = AuditEvent.objects.filter(action="access_request.extract_built").order_by("pk")
    assert built.count() == 2
    assert built.last().actor_id == agent.pk
    assert built.last().details["keep_areas"] == KEEP_COUNTER
    assert built.last().details["kept_percent"] == 20.0
    assert built.last().details["replaces"] == built.first().details["sha256"]
    assert built.last().details["mask_version"] == 1
    assert built.last().details["sha256"] == row.extract_sha256
    released = AuditEvent.objects.get(action="access_request.extract_released")
    assert released.actor_id == dpo.pk and released.details["sha256"] == row.extract_sha256
    downloads = AuditEvent.objects.filter(action="access_request.extract_downloaded")
    assert downloads.count() == 1
    assert downloads.get().actor_id == agent.pk
    assert downloads.get().recipient == "Claire MARTIN"
    assert downloads.get().details["sha256"] == row.extract_sha256

    # The DPO's answer cites the extract, lifts the hold and destroys the extract and its key.
    path = extract.extract_folder() / row.extract_path
    assert post(
        dpo_client,
        reverse("compliance:request_answer", args=[access_request.pk]),
        {"answer": "extract"},
    ) == ["Réponse enregistrée."]
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.ANSWERED
    assert access_request.outcome == AccessRequest.Outcome.EXTRACT
    assert row.extract_sha256 in access_request.answer_text
    row.refresh_from_db()
    assert row.hold.released_at is not None
    assert row.extract_destroyed_at is not None and row.extract_key is None
    assert not path.exists()
    assert client.get(download_url(access_request, camera)).status_code == 400
    assert post(
        client, build_url(access_request, camera), {"keep_areas": json.dumps(KEEP_COUNTER)}
    ) == ["Cette demande a déjà reçu sa réponse."]


def test_only_people_habilitated_to_extract_build_or_download(
    camera, access_request, agent, dpo, signed_in
):
    row = access_request.footage.get()
    replay_only = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=replay_only, all_cameras=True, can_replay=True)
    body = {"keep_areas": json.dumps(KEEP_COUNTER)}
    # The DPO validates but never sees images; replaying is not extracting.
    for person in (dpo, replay_only):
        client = signed_in(person)
        assert client.post(build_url(access_request, camera), body).status_code == 403
        with pytest.raises(PermissionDenied):
            extract.extract_build(footage=row, keep_areas=KEEP_COUNTER, actor=person)
    assert not AuditEvent.objects.filter(action="access_request.extract_built").exists()
    assert not any(extract.extract_folder().iterdir())

    assert signed_in(agent).post(build_url(access_request, camera), body).status_code == 302
    assert signed_in(dpo).post(release_url(access_request, camera)).status_code == 302
    for person in (dpo, replay_only):
        assert signed_in(person).get(download_url(access_request, camera)).status_code == 403
    assert not AuditEvent.objects.filter(action="access_request.extract_downloaded").exists()
    # An operator does not handle access requests at all.
    operator = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=operator, all_cameras=True, can_replay=True)
    assert signed_in(operator).get(download_url(access_request, camera)).status_code == 403


@pytest.mark.parametrize(
    ("areas", "message"),
    [
        ("[[[0.1, 0.1], [0.5", "Ce n'est pas une liste de polygones JSON."),
        ('{"points": []}', "Ce n'est pas une liste de polygones JSON."),
        (
            "[[[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]]]",
            "Le point 2 du polygone n° 1 est hors de l'image : x et y vont de 0 à 1.",
        ),
        (
            "[[[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]], [[0.1, -0.1], [0.5, 0.1], [0.5, 0.5]]]",
            "Le point 1 du polygone n° 2 est hors de l'image : x et y vont de 0 à 1.",
        ),
        (
            "[[[0.1, 0.1], [0.5, 0.5]]]",
            "Le polygone n° 1 a 2 points : il en faut au moins 3.",
        ),
        ("[]", "Marquez au moins une zone où apparaît le demandeur."),
        (
            # Two areas of 20 % each overlapping: their union, 30 %, is what is measured.
            "[[[0, 0], [0.5, 0], [0.5, 0.4], [0, 0.4]], "
            "[[0.25, 0], [0.75, 0], [0.75, 0.4], [0.25, 0.4]]]",
            "Les zones laissées nettes couvrent 30,0 % de l'image : au plus 25 % sont permis. "
            "Ne marquez que la silhouette du demandeur, le reste de la scène doit être flouté.",
        ),
    ],
)
def test_bad_areas_give_a_precise_error_and_store_nothing(
    camera, access_request, agent, signed_in, areas, message
):
    client = signed_in(agent)
    assert post(client, build_url(access_request, camera), {"keep_areas": areas}) == [message]
    row = AccessRequestCamera.objects.get(pk=access_request.footage.get().pk)
    assert row.keep_areas == [] and not row.extract_sha256 and not row.extract_path
    assert not any(extract.extract_folder().iterdir())
    assert not AuditEvent.objects.filter(action="access_request.extract_built").exists()
    assert client.get(download_url(access_request, camera)).status_code == 404


def test_a_failed_rebuild_keeps_the_extract_already_prepared(
    camera, access_request, agent, signed_in
):
    client = signed_in(agent)
    post(client, build_url(access_request, camera), {"keep_areas": json.dumps(KEEP_COUNTER)})
    row = access_request.footage.get()
    first = prepared(row)
    assert hashlib.sha256(first).hexdigest() == row.extract_sha256
    # One segment of the window altered on disk: the rebuild is refused in words...
    segment = (
        Segment.objects.filter(camera=camera, started_at__lt=access_request.ends_at)
        .order_by("-started_at")
        .first()
    )
    path = default_storage.path(segment.storage_path)
    with open(path, "r+b") as handle:
        handle.seek(segment.size // 2)
        byte = handle.read(1)
        handle.seek(segment.size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))
    assert (
        "contrôle d'intégrité"
        in post(
            client, build_url(access_request, camera), {"keep_areas": json.dumps(KEEP_ELSEWHERE)}
        )[0]
    )
    assert AuditEvent.objects.filter(action="recording.integrity_failed").exists()
    # ...and the extract prepared before is intact and still served.
    row.refresh_from_db()
    assert row.keep_areas == KEEP_COUNTER
    assert prepared(row) == first
    assert len(list(extract.extract_folder().iterdir())) == 1


def test_a_build_interrupted_midway_leaves_no_file(camera, access_request, agent, monkeypatch):
    real_read = extract.playback.read_segment
    calls = []

    def read_then_stop(segment, camera, actor):
        calls.append(segment.pk)
        if len(calls) > 1:
            raise KeyboardInterrupt  # the worker stopped in the middle of the extract
        return real_read(segment, camera, actor)

    monkeypatch.setattr(extract.playback, "read_segment", read_then_stop)
    with pytest.raises(KeyboardInterrupt):
        extract.extract_build(
            footage=access_request.footage.get(), keep_areas=KEEP_COUNTER, actor=agent
        )
    assert len(calls) == 2
    assert not any(extract.extract_folder().iterdir())
    row = access_request.footage.get()
    assert not row.extract_path and not row.extract_sha256
