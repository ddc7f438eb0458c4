"""Attacks on the access-request extract, the second exit for footage.

Each test acts as the attacker would: a supervisor who invents a request, keeps the whole frame
sharp, downloads the extract before or beyond what the DPO allowed, swaps it after validation,
or comes back for it once the request is answered.
"""

from __future__ import annotations

import html
import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cameras.models import Camera
from compliance import extract, services
from compliance.models import AccessRequest, AccessRequestCamera
from compliance.registers import REGISTERS
from evidence.services import DownloadRefused
from recordings import remux
from recordings.models import Hold, Segment
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.recordings.conftest import CollectingSink
from tests.recordings.media import h264_clip
from tests.recordings.retention import record_segments, store_recorded

pytestmark = pytest.mark.django_db

#: Where the requester stands: a fifth of the frame.
REQUESTER = [[[0.0, 0.0], [0.5, 0.0], [0.5, 0.4], [0.0, 0.4]]]
WHOLE_FRAME = [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]
#: The frame cut in sixteen tiles, each well under the bound: their union is the whole frame.
TILES = [
    [[x / 4, y / 4], [(x + 1) / 4, y / 4], [(x + 1) / 4, (y + 1) / 4], [x / 4, (y + 1) / 4]]
    for x in range(4)
    for y in range(4)
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> list[remux.Segment]:
    """About 3 s of real H.264 cut into 1 s segments by the recorder's remuxer."""
    clip = h264_clip(tmp_path_factory.mktemp("extract") / "source.mp4", seconds=2, gop=6)
    sink = CollectingSink()
    stop = threading.Event()
    thread = threading.Thread(
        target=remux.record,
        args=(f"file://{clip}", sink),
        kwargs={"stop": stop, "settings": remux.RemuxSettings(segment_seconds=1.0)},
        daemon=True,
    )
    thread.start()
    sink.wait_for(lambda s: len(s.segments) >= 3)
    stop.set()
    thread.join(10)
    return sink.segments[:3]


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def camera(recorded) -> Camera:
    camera = CameraFactory(code="CAM-ATK")
    store_recorded(camera, recorded)
    return camera


def _form(camera: Camera) -> dict:
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    start, end = segments[0].started_at, segments[-1].ended_at
    return {
        "requester_last_name": "Inventé",
        "requester_first_name": "Personne",
        "identity_document": "id_card",
        "identity_document_ref": "ABCD",
        "identity_checked": "on",
        "place": "Place Saint-Léger",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M:%S"),
        "ends_at": end.strftime("%Y-%m-%dT%H:%M:%S"),
        "cameras": [camera.pk],
        "description": "Quelqu'un.",
    }


@pytest.fixture
def access_request(camera, dpo) -> AccessRequest:
    segments = list(Segment.objects.filter(camera=camera).order_by("started_at"))
    return services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X12345678",
        description="Manteau rouge.",
        place="Place Saint-Léger",
        starts_at=segments[0].started_at,
        ends_at=segments[-1].ended_at,
        cameras=[camera],
        actor=dpo,
    )


@pytest.fixture
def chef(supervisor, signed_in) -> Client:
    """The supervisor, habilitated to live, replay and extract on every camera, signed in."""
    return signed_in(supervisor)


def _url(name: str, request: AccessRequest, camera: Camera) -> str:
    return reverse(f"compliance:{name}", args=[request.pk, camera.code])


def _build(client: Client, request: AccessRequest, camera: Camera, areas) -> list[str]:
    response = client.post(
        _url("extract_build", request, camera), {"keep_areas": json.dumps(areas)}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def _row(request: AccessRequest) -> AccessRequestCamera:
    return AccessRequestCamera.objects.select_related("camera", "request").get(request=request)


def _release(dpo_client: Client, request: AccessRequest, camera: Camera) -> int:
    return dpo_client.post(_url("extract_release", request, camera)).status_code


def _download(client: Client, request: AccessRequest, camera: Camera):
    response = client.get(_url("extract_download", request, camera))
    if response.streaming:
        response.content_bytes = b"".join(response.streaming_content)
    else:
        response.text = html.unescape(response.content.decode())
    return response


# --- The supervisor invents a request -----------------------------------------------------------


def test_a_supervisor_cannot_invent_an_access_request(camera, supervisor, chef):
    response = chef.post(reverse("compliance:request_create"), _form(camera))
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        services.access_request_create(
            requester_last_name="Inventé",
            requester_first_name="Personne",
            identity_document="id_card",
            identity_document_ref="ABCD",
            description="Quelqu'un.",
            place="Place Saint-Léger",
            starts_at=Segment.objects.earliest("started_at").started_at,
            ends_at=Segment.objects.latest("ended_at").ended_at,
            cameras=[camera],
            actor=supervisor,
        )
    assert not AccessRequest.objects.exists()
    assert not Hold.objects.exists()


# --- The supervisor keeps the whole scene sharp -------------------------------------------------


@pytest.mark.parametrize(
    ("areas", "percent"), [(WHOLE_FRAME, "100,0"), (TILES, "100,0")], ids=["whole", "tiles"]
)
def test_the_whole_frame_cannot_be_kept_sharp(access_request, camera, chef, areas, percent):
    assert _build(chef, access_request, camera, areas) == [
        f"Les zones laissées nettes couvrent {percent} % de l'image : au plus 25 % sont "
        "permis. Ne marquez que la silhouette du demandeur, le reste de la scène doit être "
        "flouté."
    ]
    row = _row(access_request)
    assert not row.extract_path and not row.extract_sha256 and row.keep_areas == []
    assert not any(extract.extract_folder().iterdir())
    assert not AuditEvent.objects.filter(action="access_request.extract_built").exists()


def test_the_bound_follows_the_setting(access_request, camera, chef, settings):
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 10
    assert "au plus 10 % sont permis" in _build(chef, access_request, camera, REQUESTER)[0]
    assert not _row(access_request).extract_sha256


def test_an_extract_built_wider_than_the_bound_is_never_released(
    access_request, camera, chef, dpo, signed_in
):
    # Prepared within the bound, then the stored areas widened behind the page's back (or an
    # extract prepared before the bound existed): the DPO's validation refuses it.
    assert "prêt" in _build(chef, access_request, camera, REQUESTER)[0]
    AccessRequestCamera.objects.filter(request=access_request).update(keep_areas=WHOLE_FRAME)
    response = signed_in(dpo).post(_url("extract_release", access_request, camera), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Cet extrait laisse nets 100,0 % de l'image (au plus 25 %) : faites-le préparer à nouveau."
    ]
    assert _row(access_request).extract_released_at is None
    assert _download(chef, access_request, camera).status_code == 400


# --- The extraction right -----------------------------------------------------------------------


def test_replay_alone_does_not_build_an_extract(access_request, camera, signed_in):
    viewer = UserFactory(role="supervisor")
    HabilitationFactory(user=viewer, all_cameras=True, can_live=True, can_replay=True)
    client = signed_in(viewer)
    response = client.post(
        _url("extract_build", access_request, camera), {"keep_areas": json.dumps(REQUESTER)}
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        extract.extract_build(footage=_row(access_request), keep_areas=REQUESTER, actor=viewer)
    assert not _row(access_request).extract_sha256
    assert not any(extract.extract_folder().iterdir())


# --- Downloading what the DPO did not release, or more than once ---------------------------------


def test_no_download_before_the_dpo_validates(access_request, camera, chef):
    assert "prêt" in _build(chef, access_request, camera, REQUESTER)[0]
    response = _download(chef, access_request, camera)
    assert response.status_code == 400
    assert "n'a pas été validé par le délégué" in response.text
    assert not AuditEvent.objects.filter(action="access_request.extract_downloaded").exists()
    refused = AuditEvent.objects.get(action="access_request.extract_download_refused")
    assert refused.details["camera"] == camera.code


def test_the_supervisor_cannot_validate_the_extract_himself(access_request, camera, chef):
    _build(chef, access_request, camera, REQUESTER)
    assert _release(chef, access_request, camera) == 403
    assert _row(access_request).extract_released_at is None
    assert _download(chef, access_request, camera).status_code == 400


def test_the_download_is_single_use(access_request, camera, chef, dpo, signed_in, supervisor):
    _build(chef, access_request, camera, REQUESTER)
    dpo_client = signed_in(dpo)
    assert _release(dpo_client, access_request, camera) == 302
    # The DPO validates on metadata and never receives the images.
    assert _download(dpo_client, access_request, camera).status_code == 403

    first = _download(chef, access_request, camera)
    assert first.status_code == 200 and first["Content-Type"] == "video/mp4"
    assert first.content_bytes[4:8] == b"ftyp"
    row = _row(access_request)
    assert row.extract_handed_over_by == supervisor

    again = _download(chef, access_request, camera)
    assert again.status_code == 400
    assert "ne se télécharge qu'une fois" in again.text
    # Another habilitated supervisor does not get a second copy either.
    colleague = UserFactory(role="supervisor")
    HabilitationFactory(user=colleague, all_cameras=True, can_replay=True, can_extract=True)
    assert _download(signed_in(colleague), access_request, camera).status_code == 400
    # Nor a validation again to reopen the tap.
    assert _release(dpo_client, access_request, camera) == 302
    assert _download(chef, access_request, camera).status_code == 400

    assert AuditEvent.objects.filter(action="access_request.extract_downloaded").count() == 1
    assert AuditEvent.objects.filter(action="access_request.extract_download_refused").count() == 3


def test_a_validated_extract_cannot_be_swapped(access_request, camera, chef, dpo, signed_in):
    _build(chef, access_request, camera, REQUESTER)
    validated = _row(access_request).extract_sha256
    assert _release(signed_in(dpo), access_request, camera) == 302
    elsewhere = [[[0.5, 0.5], [1.0, 0.5], [1.0, 0.9], [0.5, 0.9]]]
    assert _build(chef, access_request, camera, elsewhere) == [
        "Le délégué à la protection des données a validé cet extrait : il ne peut plus être "
        "modifié."
    ]
    row = _row(access_request)
    assert row.extract_sha256 == validated and row.keep_areas == REQUESTER
    assert len(list(extract.extract_folder().iterdir())) == 1


# --- Coming back after the answer --------------------------------------------------------------


def test_extract_and_key_are_destroyed_after_the_answer(
    access_request, camera, chef, dpo, signed_in, django_capture_on_commit_callbacks
):
    _build(chef, access_request, camera, REQUESTER)
    dpo_client = signed_in(dpo)
    assert _release(dpo_client, access_request, camera) == 302
    assert _download(chef, access_request, camera).status_code == 200
    row = _row(access_request)
    path = extract.extract_folder() / row.extract_path
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = dpo_client.post(
            reverse("compliance:request_answer", args=[access_request.pk]), {"answer": "extract"}
        )
    assert response.status_code == 302
    row = _row(access_request)
    assert row.request.status == AccessRequest.Status.ANSWERED
    assert row.extract_destroyed_at is not None
    assert row.extract_key is None and row.extract_key_id == "" and row.extract_path == ""
    assert not path.exists()
    assert not any(extract.extract_folder().iterdir())
    # What the answer cites stays: the fingerprint of what was handed over.
    assert row.extract_sha256 in row.request.answer_text

    again = _download(chef, access_request, camera)
    assert again.status_code == 400 and "détruit" in again.text

    destroyed = AuditEvent.objects.get(action="access_request.extract_destroyed")
    assert destroyed.details["sha256"] == row.extract_sha256
    register = REGISTERS["destructions"].rows(None, None)
    assert [line for line in register if row.extract_sha256 in line] == [
        [
            line[0],
            f"{camera.code} (extrait {access_request.reference})",
            line[2],
            line[3],
            "",
            str(row.extract_size),
            "1",
            row.extract_sha256,
        ]
        for line in register
        if row.extract_sha256 in line
    ]
    assert any(row.extract_sha256 in line for line in REGISTERS["remises"].rows(None, None))


def test_a_refusal_destroys_a_prepared_extract_too(
    access_request, camera, chef, dpo, signed_in, django_capture_on_commit_callbacks
):
    _build(chef, access_request, camera, REQUESTER)
    path = extract.extract_folder() / _row(access_request).extract_path
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(dpo).post(
            reverse("compliance:request_answer", args=[access_request.pk]),
            {"answer": "refuse", "refusal_reason": "third_parties"},
        )
    assert response.status_code == 302
    row = _row(access_request)
    assert row.extract_destroyed_at is not None and row.extract_key is None
    assert not path.exists()
    assert _download(chef, access_request, camera).status_code == 400


# --- Two downloads at the same instant -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_downloads_get_one_copy(dpo, supervisor):
    camera = CameraFactory(code="CAM-RACE")
    begin = timezone.now() - timedelta(hours=1)
    record_segments(camera, begin, 3)
    request = services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X1234",
        description="Manteau rouge.",
        place="Place Saint-Léger",
        starts_at=begin,
        ends_at=begin + timedelta(minutes=2),
        cameras=[camera],
        actor=dpo,
    )
    AccessRequestCamera.objects.filter(request=request).update(
        keep_areas=REQUESTER,
        extract_path="prepared.csuseg",
        extract_key_id="access-request/race",
        extract_key=b"wrapped",
        extract_sha256="ef" * 32,
        extract_built_at=timezone.now(),
        extract_built_by=supervisor,
    )
    services.extract_release(footage=_row(request), actor=dpo)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            row = _row(request)
            barrier.wait(5)
            services.extract_hand_over(footage=row, actor=supervisor)
            outcomes.append("granted")
        except DownloadRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["granted", "refused"]
    assert AuditEvent.objects.filter(action="access_request.extract_downloaded").count() == 1
