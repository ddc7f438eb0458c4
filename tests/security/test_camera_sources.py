"""Attacks through a camera's source: its password leaking out, the source used as a probe of
the internal network or a forgery, and sealed credentials moved from one camera to another.

Each test acts as the attacker (or the careless operator) would, through the pages, the API,
the health check and the recorder, against real sources: GStreamer's RTSP server demanding a
login, HTTP servers that redirect.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import cv2
import numpy as np
import pytest
from auditlog.models import LogEntry
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings as django_settings

from audit.models import AuditEvent
from cameras import secrets, services, sources, video
from cameras.demo import MOTION, write_clip
from cameras.models import Camera, CameraOutage, CameraStatus, HealthStatus
from recordings import remux
from recordings.models import Gap, RecorderLease, Segment
from recordings.recorder import run_recorder
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import UserFactory
from tests.recordings.conftest import RTSP_SERVER, SYSTEM_PYTHON, free_port

LOGIN = "cam-admin"
PASSWORD = "Bon-M0t/de:Passe@42"
WRONG = "Faux-M0t/de:Passe@99"


class LockedCamera:
    """GStreamer's RTSP server whose /cam answers 401 without the right login."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.port = free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "RTSP_USER": LOGIN, "RTSP_PASSWORD": PASSWORD}
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port), "--auth", self.method],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {line}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


def _gstreamer_available() -> bool:
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True,
        check=False,
    )
    return check.returncode == 0


@pytest.fixture(params=["basic"])
def locked_camera(request) -> Iterator[LockedCamera]:
    if not _gstreamer_available():
        pytest.skip("GStreamer RTSP server bindings missing (.ci/run installs them)")
    server = LockedCamera(request.param)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def digest_camera() -> Iterator[LockedCamera]:
    if not _gstreamer_available():
        pytest.skip("GStreamer RTSP server bindings missing (.ci/run installs them)")
    server = LockedCamera("digest")
    server.start()
    yield server
    server.stop()


def _record(camera: Camera, seconds: float) -> str:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return run_recorder(
            camera.pk,
            "attack-test-recorder",
            stop=stop,
            remux_settings=remux.RemuxSettings(
                segment_seconds=1.0,
                open_timeout=3,
                read_timeout=2,
                probe_seconds=0.5,
                backoff_initial=0.2,
                backoff_max=0.5,
            ),
            renew_every=0.5,
        )
    finally:
        timer.cancel()


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret)}


def _leaks(text: str, secret: str, user: str) -> list[str]:
    found = [form for form in _forms(secret) if form in text]
    if f"{user}:" in text and "@" in text.split(f"{user}:", 1)[1][:200]:
        found.append(f"{user}:…@")
    found += [f"{form}@" for form in _forms(user) if f"{form}@" in text or f"{form}%40" in text]
    return found


# --- 3. Credentials never leave the server ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_wrong_camera_password_appears_in_no_page_api_audit_health_or_log(
    locked_camera, signed_in, supervisor, dpo, caplog, settings, tmp_path
):
    """A camera given a wrong password answers 401: the password shows up nowhere."""
    caplog.set_level(logging.DEBUG)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CAMERA_CONNECT_TIMEOUT = 3
    settings.CAMERA_SAMPLE_SECONDS = 1
    chef = signed_in(supervisor)
    bodies: list[str] = []

    created = chef.post(
        "/api/cameras/",
        {
            "code": "CAM-401",
            "name": "Caméra verrouillée",
            "sector": "Gare",
            "kind": "dome",
            "stream_url": locked_camera.url,
            "stream_username": LOGIN,
            "stream_password": WRONG,
            "authorization": AuthorizationFactory().pk,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    bodies.append(created.content.decode())
    camera = Camera.objects.get(code="CAM-401")
    # Typed inside the address, the login is refused without being repeated.
    inside = f"rtsp://{LOGIN}:{quote(WRONG, safe='')}@127.0.0.1:{locked_camera.port}/cam"
    edited = chef.patch(
        "/api/cameras/CAM-401/", {"stream_url": inside}, content_type="application/json"
    )
    assert edited.status_code == 400, edited.content
    bodies.append(edited.content.decode())
    assert services.stream_login(Camera.objects.get(pk=camera.pk)) == (LOGIN, WRONG)

    # The health check meets the 401.
    assert services.cameras_check_health(camera_ids=[camera.pk]) == {
        "CAM-401": HealthStatus.UNREACHABLE
    }
    # The snapshot, page and API.
    for url in ("/cameras/CAM-401/instantane.jpg", "/api/cameras/CAM-401/snapshot/"):
        response = chef.get(url)
        assert response.status_code == 503
        assert "identifiants" in response.content.decode()
        bodies.append(response.content.decode())
    # A recording attempt.
    outcome = _record(camera, 2.5)
    assert not Segment.objects.filter(camera=camera).exists()
    assert Gap.objects.filter(camera=camera).exists()

    for url in (
        "/cameras/CAM-401/",
        "/cameras/CAM-401/historique/",
        "/cameras/sante/",
        "/api/cameras/CAM-401/",
        "/api/cameras/CAM-401/history/",
        "/api/cameras/CAM-401/outages/",
        "/api/cameras/health/",
    ):
        response = chef.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content.decode())
    dpo_client = signed_in(dpo)
    for url in (
        "/audit/export.csv",
        "/conformite/registres/sources-cameras/",
        "/conformite/registres/sources-cameras/?format=csv",
    ):
        response = dpo_client.get(url)
        assert response.status_code == 200, url
        bodies.append(b"".join(getattr(response, "streaming_content", [response.content])).decode())

    stored = [outcome]
    for event in AuditEvent.objects.all():
        stored.append(
            json.dumps(
                {
                    "details": event.details,
                    "reason": event.reason,
                    "label": event.target_label,
                    "recipient": event.recipient,
                },
                default=str,
            )
        )
    camera.refresh_from_db()
    stored.append(json.dumps(camera.health_detail))
    stored += [json.dumps(o.detail) for o in CameraOutage.objects.filter(camera=camera)]
    stored += [g.reason for g in Gap.objects.filter(camera=camera)]
    stored += [lease.last_error for lease in RecorderLease.objects.filter(camera=camera)]
    stored += [json.dumps(e.changes, default=str) for e in LogEntry.objects.all()]
    assert CameraOutage.objects.filter(camera=camera).exists()

    for where, texts in (("responses", bodies), ("stored", stored), ("logs", [caplog.text])):
        for text in texts:
            assert not _leaks(text, WRONG, LOGIN), (where, _leaks(text, WRONG, LOGIN), text[:2000])
    # The failure was logged for the administrator, address included but not the login.
    assert f"127.0.0.1:{locked_camera.port}/cam" in caplog.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_camera_behind_a_password_records_with_its_sealed_credentials(
    digest_camera, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    camera = services.camera_create(
        authorization=AuthorizationFactory(),
        code="CAM-PWD",
        name="Caméra à mot de passe",
        sector="Gare",
        kind="dome",
        stream_url=digest_camera.url,
        stream_username=LOGIN,
        stream_password=PASSWORD,
        actor=UserFactory(role="supervisor"),
    )
    assert PASSWORD not in camera.stream_credentials

    outcome = _record(camera, 5.0)

    assert outcome == "stopped", outcome
    segments = Segment.objects.filter(camera=camera)
    assert segments.count() >= 2


@pytest.mark.django_db
def test_changing_host_port_or_scheme_drops_the_stored_credentials(signed_in, supervisor):
    chef = signed_in(supervisor)
    actor = UserFactory(role="supervisor")

    def camera(code: str) -> Camera:
        return services.camera_create(
            code=code,
            name=code,
            sector="Gare",
            kind="dome",
            stream_url="rtsp://127.0.0.1:8554/cam",
            stream_username=LOGIN,
            stream_password=PASSWORD,
            status=CameraStatus.MAINTENANCE,
            actor=actor,
        )

    for code, new_url in (
        ("CAM-HOST", "rtsp://127.0.0.2:8554/cam"),
        ("CAM-PORT", "rtsp://127.0.0.1:9554/cam"),
        ("CAM-SCHEME", "http://127.0.0.1:8554/cam"),
    ):
        camera(code)
        response = chef.patch(
            f"/api/cameras/{code}/", {"stream_url": new_url}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["has_credentials"] is False, code
        moved = Camera.objects.get(code=code)
        assert moved.stream_credentials == ""
        event = AuditEvent.objects.filter(
            action="camera.source_changed", target_id=str(moved.pk)
        ).get()
        assert event.details["credentials"] == "dropped"

    # Same machine, another path: the login stays. Another machine with the login typed again:
    # the new login is kept.
    camera("CAM-PATH")
    chef.patch(
        "/api/cameras/CAM-PATH/",
        {"stream_url": "rtsp://127.0.0.1:8554/autre"},
        content_type="application/json",
    )
    assert services.stream_login(Camera.objects.get(code="CAM-PATH")) == (LOGIN, PASSWORD)
    camera("CAM-RETYPED")
    chef.patch(
        "/api/cameras/CAM-RETYPED/",
        {
            "stream_url": "rtsp://127.0.0.3:554/cam",
            "stream_username": "autre",
            "stream_password": "Autre-Passe",
        },
        content_type="application/json",
    )
    assert services.stream_login(Camera.objects.get(code="CAM-RETYPED")) == (
        "autre",
        "Autre-Passe",
    )


class _Recorder:
    """What the machine behind the redirect received."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []


def _jpeg() -> bytes:
    image = np.full((90, 160, 3), 128, np.uint8)
    cv2.putText(image, "CSU", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
    return cv2.imencode(".jpg", image)[1].tobytes()


def _serve(host: str, handler_class) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def redirecting_camera() -> Iterator[tuple[str, str, _Recorder]]:
    """A camera at 127.0.0.1 that redirects elsewhere, and the machine at 127.0.0.2 it names."""
    seen = _Recorder()
    image = _jpeg()

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen.requests.append({"path": self.path, **dict(self.headers.items())})
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

    elsewhere = _serve("127.0.0.2", Elsewhere)
    target = f"http://127.0.0.2:{elsewhere.server_address[1]}/interne"
    expected = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()

    class Camera_(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="cam"')
                self.end_headers()
                return
            if self.path == "/snapshot.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)
                return
            self.send_response(302)
            self.send_header("Location", "/snapshot.jpg" if self.path == "/old.jpg" else target)
            self.end_headers()

    camera = _serve("127.0.0.1", Camera_)
    yield f"http://127.0.0.1:{camera.server_address[1]}", target, seen
    for server in (camera, elsewhere):
        server.shutdown()
        server.server_close()


def test_http_camera_follows_no_redirect_to_another_machine(redirecting_camera):
    base, _target, seen = redirecting_camera

    with pytest.raises(video.SourceError, match="redirection refusée"):
        video.grab(f"{base}/live.jpg", username=LOGIN, password=PASSWORD, timeout=3)
    outcome = remux.Remuxer(
        f"{base}/live.mjpg",
        sink=None,  # type: ignore[arg-type]  (nothing is recorded: the source does not open)
        settings=remux.RemuxSettings(open_timeout=3, read_timeout=3),
        username=LOGIN,
        password=PASSWORD,
    ).run()
    assert outcome.lost and "cannot open stream" in outcome.reason

    assert seen.requests == []
    # A redirect on the camera itself is followed, with its login.
    image = video.grab(f"{base}/old.jpg", username=LOGIN, password=PASSWORD, timeout=3)
    assert image.shape == (90, 160, 3)


# --- 11. Sealed credentials are bound to their camera -----------------------------------------


@pytest.mark.django_db
def test_sealed_credentials_copied_to_another_camera_do_not_open(signed_in, supervisor):
    actor = UserFactory(role="supervisor")
    victim = services.camera_create(
        code="CAM-A",
        name="A",
        sector="Gare",
        kind="dome",
        stream_url="rtsp://127.0.0.1:8554/a",
        stream_username=LOGIN,
        stream_password=PASSWORD,
        status=CameraStatus.MAINTENANCE,
        actor=actor,
    )
    mine = CameraFactory(code="CAM-B", stream_url="rtsp://127.0.0.1:8555/b")
    # Someone with write access to the table copies the sealed value across rows.
    Camera.objects.filter(pk=mine.pk).update(stream_credentials=victim.stream_credentials)
    mine.refresh_from_db()

    with pytest.raises(secrets.CredentialsUnreadable):
        services.stream_login(mine)
    assert services.stream_login(Camera.objects.get(pk=victim.pk)) == (LOGIN, PASSWORD)
    # Nothing breaks for it either: the snapshot says the login must be typed again.
    chef = signed_in(supervisor)
    for url in ("/cameras/CAM-B/instantane.jpg", "/api/cameras/CAM-B/snapshot/"):
        response = chef.get(url)
        assert response.status_code == 503
        assert "ressaisissez" in response.content.decode()


@pytest.mark.django_db
def test_migration_reseals_unbound_credentials_to_their_camera():
    migration = importlib.import_module("cameras.migrations.0002_bind_stream_credentials_to_camera")
    key = AESGCM(base64.b64decode(django_settings.CSU_STREAM_CREDENTIALS_KEY))
    nonce = os.urandom(12)
    plain = json.dumps({"username": LOGIN, "password": PASSWORD}).encode()
    unbound = (
        "v1:"
        + base64.b64encode(
            nonce + key.encrypt(nonce, plain, b"csu/cameras/stream-credentials")
        ).decode()
    )
    first = CameraFactory(code="CAM-OLD1")
    second = CameraFactory(code="CAM-OLD2")
    Camera.objects.filter(pk__in=[first.pk, second.pk]).update(stream_credentials=unbound)

    migration.bind(apps, None)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.stream_credentials.startswith("v2:")
    assert secrets.unseal(first.stream_credentials, camera_id=first.pk) == (LOGIN, PASSWORD)
    assert secrets.unseal(second.stream_credentials, camera_id=second.pk) == (LOGIN, PASSWORD)
    with pytest.raises(secrets.CredentialsUnreadable):
        secrets.unseal(first.stream_credentials, camera_id=second.pk)
    # The old unbound value is no longer accepted anywhere.
    with pytest.raises(secrets.CredentialsUnreadable):
        secrets.unseal(unbound, camera_id=first.pk)


# --- 4. Sources cannot be turned into a probe or a forgery --------------------------------------


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections (the reachability check passes)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def _camera_body(**overrides):
    body = {
        "code": "CAM-NET",
        "name": "Caméra",
        "sector": "Gare",
        "kind": "dome",
        "authorization": AuthorizationFactory().pk,
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_production_refuses_local_files_and_sources_outside_the_camera_networks(
    signed_in, supervisor, settings, listening_port, tmp_path
):
    chef = signed_in(supervisor)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not really a video")
    settings.PRODUCTION = True
    settings.CAMERA_NETWORKS = ["10.20.0.0/16"]

    refused = {
        clip.as_uri(): "file://",
        f"rtsp://127.0.0.1:{listening_port}/cam": "réseaux de caméras",
        f"rtsp://localhost:{listening_port}/cam": "réseaux de caméras",
        f"http://[::ffff:127.0.0.1]:{listening_port}/cam": "réseaux de caméras",
    }
    for url, message in refused.items():
        response = chef.post(
            "/api/cameras/", _camera_body(stream_url=url), content_type="application/json"
        )
        assert response.status_code == 400, (url, response.content)
        assert message in " ".join(response.json()["stream_url"]), url
    assert not Camera.objects.filter(code="CAM-NET").exists()

    # A camera registered before (or the network list narrowed since) is not opened either.
    settings.PRODUCTION = False
    settings.CAMERA_NETWORKS = []
    CameraFactory(code="CAM-OLD", stream_url=f"rtsp://127.0.0.1:{listening_port}/cam")
    CameraFactory(code="CAM-FILE", stream_url=clip.as_uri())
    settings.PRODUCTION = True
    settings.CAMERA_NETWORKS = ["10.20.0.0/16"]
    for code in ("CAM-OLD", "CAM-FILE"):
        response = chef.get(f"/cameras/{code}/instantane.jpg")
        assert response.status_code == 503
    # Nor moved outside the networks.
    response = chef.patch(
        "/api/cameras/CAM-OLD/",
        {"stream_url": f"rtsp://127.0.0.1:{listening_port}/autre"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Camera.objects.get(code="CAM-OLD").stream_url.endswith("/cam")

    # No network configured in production: no network source at all.
    settings.CAMERA_NETWORKS = []
    response = chef.post(
        "/api/cameras/",
        _camera_body(stream_url=f"rtsp://127.0.0.1:{listening_port}/cam"),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "CSU_CAMERA_NETWORKS" in " ".join(response.json()["stream_url"])

    # Inside the networks, the camera is registered.
    settings.CAMERA_NETWORKS = ["127.0.0.0/8"]
    response = chef.post(
        "/api/cameras/",
        _camera_body(stream_url=f"rtsp://127.0.0.1:{listening_port}/cam"),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_file_sources_stay_allowed_outside_production(signed_in, supervisor, settings, tmp_path):
    settings.PRODUCTION = False
    settings.CAMERA_NETWORKS = []
    clip = write_clip(tmp_path / "demo.mp4", label="DEMO", scene=MOTION, seconds=1, size=(160, 90))
    response = signed_in(supervisor).post(
        "/api/cameras/",
        _camera_body(stream_url=clip.as_uri()),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections time out: its accept queue is full and nobody accepts."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port), timeout=1)
        try:
            yield port
        finally:
            filler.close()


@pytest.mark.django_db
def test_unreachable_sources_all_get_the_same_words(
    signed_in, supervisor, settings, caplog, silent_port
):
    """Closed port, timeout, unknown name: the page must not tell which machines exist."""
    caplog.set_level(logging.INFO)
    settings.CAMERA_CONNECT_TIMEOUT = 1
    chef = signed_in(supervisor)
    messages = {}
    for url in (
        f"rtsp://127.0.0.1:{free_port()}/cam",  # refused: nothing listens
        f"rtsp://127.0.0.1:{silent_port}/cam",  # no answer: timeout
        "rtsp://camera-inconnue.invalid/cam",  # unknown name
    ):
        response = chef.post(
            "/api/cameras/", _camera_body(stream_url=url), content_type="application/json"
        )
        assert response.status_code == 400, (url, response.content)
        messages[url] = response.json()["stream_url"]
    assert len({json.dumps(m) for m in messages.values()}) == 1, messages
    words = " ".join(next(iter(messages.values())))
    assert "Source injoignable" in words
    for leak in ("127.0.0.1", "invalid", "refused", "refusée", "timed out", "délai", "Errno"):
        assert leak not in words
    # The administrator still finds the cause in the server log.
    assert "camera-inconnue.invalid" in caplog.text
    assert "timed out" in caplog.text


@pytest.mark.django_db
def test_a_change_of_source_is_audited_and_on_the_dpos_register(
    signed_in, supervisor, dpo, listening_port
):
    chef = signed_in(supervisor)
    camera = CameraFactory(code="CAM-SRC", stream_url=f"rtsp://127.0.0.1:{listening_port}/old")
    response = chef.patch(
        "/api/cameras/CAM-SRC/",
        {
            "stream_url": f"rtsp://127.0.0.1:{listening_port}/new",
            "stream_username": LOGIN,
            "stream_password": PASSWORD,
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content

    event = AuditEvent.objects.get(action="camera.source_changed", target_id=str(camera.pk))
    assert event.actor_name.startswith(supervisor.get_username())
    assert event.details["from"] == f"rtsp://127.0.0.1:{listening_port}/old"
    assert event.details["to"] == f"rtsp://127.0.0.1:{listening_port}/new"
    assert event.details["credentials"] == "changed"

    reader = signed_in(dpo)
    page = reader.get("/conformite/registres/sources-cameras/").content.decode()
    csv = reader.get("/conformite/registres/sources-cameras/?format=csv").content.decode()
    for text in (page, csv):
        assert f"rtsp://127.0.0.1:{listening_port}/old" in text
        assert f"rtsp://127.0.0.1:{listening_port}/new" in text
        assert "CAM-SRC" in text and supervisor.get_username() in text
        assert not _leaks(text, PASSWORD, LOGIN)


def test_redaction_masks_any_login_in_an_address_and_the_given_secrets():
    text = "échec: 'rtsp://cam-admin:Bon-M0t%2Fde%3APasse%4042@10.0.0.5/cam' (Bon-M0t/de:Passe@42)"
    redacted = sources.redact(text, (PASSWORD,))
    assert redacted == "échec: 'rtsp://***@10.0.0.5/cam' (***)"


@pytest.mark.django_db
def test_login_typed_inside_the_address_is_not_shown_back_by_the_page(signed_in, supervisor):
    """The form page, shown again after an error, repeats neither the password nor user:pass@."""
    chef = signed_in(supervisor)
    typed = f"rtsp://{LOGIN}:{quote(PASSWORD, safe='')}@127.0.0.1:8554/cam"
    body = {
        "code": "CAM-FORM",
        "name": "Caméra",
        "sector": "Gare",
        "kind": "dome",
        "status": "maintenance",
        "retention_days": 99,  # refused: the page comes back with the form filled in
        "expected_fps": 12,
        "stream_url": typed,
    }
    page = chef.post("/cameras/nouvelle/", body)
    assert page.status_code == 200
    assert not _leaks(page.content.decode(), PASSWORD, LOGIN)

    body["retention_days"] = 10
    assert chef.post("/cameras/nouvelle/", body).status_code == 302
    camera = Camera.objects.get(code="CAM-FORM")
    assert camera.stream_url == "rtsp://127.0.0.1:8554/cam"
    assert services.stream_login(camera) == (LOGIN, PASSWORD)
