"""Follow-ups of the trust review, each written as the attacker (or the careless colleague) acts.

- a chef de salle validates the privacy masks he drew himself (page and API);
- a stolen session outlives a second-factor reset, a password change or a deactivation;
- a forged "OK" row of the chain's verifications shows a green state to the DPO;
- a newer anchor with a lower number hides a truncated chain;
- the CNIL pack leaves out the register of camera-source changes;
- a camera's source moves outside the camera networks while its recorder runs.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
import zipfile
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from audit import anchor, chain, integrity
from audit.models import AuditEvent, ChainCheckpoint, ChainVerification
from audit.services import record
from cameras import secrets as camera_secrets
from cameras import services as camera_services
from cameras.models import Camera, CameraStatus, PrivacyMask
from compliance import pack
from csu.lib import csvfile
from recordings import remux
from recordings.models import Gap, RecorderLease, Segment
from recordings.recorder import run_recorder
from tests.append_only import suspended
from tests.cameras.factories import CameraFactory
from tests.factories import PASSWORD, HabilitationFactory, UserFactory
from tests.recordings.media import moving_frame

POLYGONS = [{"mode": "software", "points": [[0, 0], [0.5, 0], [0.5, 0.5]]}]


# --- d. Nobody validates his own masks ----------------------------------------------------------


def _habilitated_chef(username: str):
    chef = UserFactory(username=username, role=Role.SUPERVISOR)
    HabilitationFactory(user=chef, sectors=["Gare"], can_live=True)
    return chef


@pytest.mark.django_db
def test_chef_cannot_validate_his_own_masks_through_the_page(signed_in):
    CameraFactory(code="CAM-GARE", sector="Gare")
    author = _habilitated_chef("chef.auteur")
    client = signed_in(author)
    saved = client.post(
        "/api/cameras/CAM-GARE/masks/", {"polygons": POLYGONS}, content_type="application/json"
    )
    assert saved.status_code == 201, saved.content

    response = client.post("/cameras/CAM-GARE/masques/1/valider/", follow=True)

    assert "doit les valider" in response.content.decode()
    mask = PrivacyMask.objects.get(camera__code="CAM-GARE", version=1)
    assert mask.validated_at is None and mask.validated_by is None
    assert not AuditEvent.objects.filter(action="privacy_mask.validated").exists()
    # The page offers no button to do it either.
    detail = client.get("/cameras/CAM-GARE/").content.decode()
    assert "à valider par un autre chef de salle" in detail


@pytest.mark.django_db
def test_chef_cannot_validate_his_own_masks_through_the_api(signed_in):
    CameraFactory(code="CAM-GARE", sector="Gare")
    author = _habilitated_chef("chef.auteur")
    client = signed_in(author)
    client.post(
        "/api/cameras/CAM-GARE/masks/", {"polygons": POLYGONS}, content_type="application/json"
    )

    response = client.post("/api/cameras/CAM-GARE/masks/1/validate/")

    assert response.status_code == 403, response.content
    assert "doit les valider" in response.json()["detail"]
    mask = PrivacyMask.objects.get(camera__code="CAM-GARE", version=1)
    assert mask.validated_at is None
    assert not AuditEvent.objects.filter(action="privacy_mask.validated").exists()

    # Another habilitated chef validates them.
    other = signed_in(_habilitated_chef("chef.valideur"))
    assert other.post("/api/cameras/CAM-GARE/masks/1/validate/").status_code == 200
    mask.refresh_from_db()
    assert mask.validated_by.username == "chef.valideur"


@pytest.mark.django_db
def test_the_service_itself_refuses_self_validation():
    camera = CameraFactory(code="CAM-GARE", sector="Gare")
    author = _habilitated_chef("chef.auteur")
    mask = camera_services.mask_save(camera=camera, polygons=POLYGONS, actor=author)
    with pytest.raises(camera_services.OwnMasksRefused):
        camera_services.mask_validate(mask=mask, actor=author)


# --- e. The CNIL pack carries the camera-source changes -----------------------------------------


@pytest.mark.django_db
def test_a_camera_pointed_elsewhere_is_in_the_cnil_pack(dpo):
    """A chef points a camera at another source: the inspector's pack must show it, its CSV
    cells made inert and the way to undo that written beside them."""
    chef = UserFactory(username="@chef.nuit", role=Role.SUPERVISOR)
    camera = CameraFactory(
        code="CAM-PARC", stream_url="rtsp://127.0.0.1:8554/parc", status=CameraStatus.MAINTENANCE
    )
    start = timezone.now() - timedelta(hours=1)
    camera_services.camera_update(
        camera=camera, actor=chef, stream_url="rtsp://127.0.0.1:8554/fenetre-voisin"
    )
    name, data = pack.build(start=start, end=timezone.now() + timedelta(hours=1), actor=dpo)
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = name.removesuffix(".zip")

    text = archive.read(f"{root}/registres/sources-cameras.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    assert len(rows) == 1
    assert rows[0][3:5] == ["rtsp://127.0.0.1:8554/parc", "rtsp://127.0.0.1:8554/fenetre-voisin"]
    assert rows[0][2] == str(camera)
    # The chef's name begins with "@": inert in the file, and given back by the rule written.
    assert rows[0][6].startswith("'@chef.nuit")
    assert csvfile.restore(rows[0][6]).startswith("@chef.nuit")
    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    assert "registres/sources-cameras.csv" in {entry["path"] for entry in manifest["files"]}
    readme = archive.read(f"{root}/LISEZMOI.txt").decode()
    assert "= + - @" in readme and "retirez la première apostrophe" in readme


# --- c. Every open session ends with a second-factor reset, a password change, a deactivation ---

NEW_PASSWORD = "Autre-mot-de-passe-solide-2027!"


def _sessions_of(user) -> list[str]:
    return [
        session.session_key
        for session in Session.objects.all()
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk)
    ]


def _is_signed_out(client) -> bool:
    response = client.get("/accueil/")
    return response.status_code == 302 and response["Location"].startswith("/comptes/login/")


@pytest.mark.django_db
def test_stolen_session_cannot_enrol_a_new_authenticator_after_a_second_factor_reset(
    signed_in, supervisor, admin_user
):
    thief = signed_in(supervisor)  # the victim's session, copied from his browser
    assert thief.get("/accueil/").status_code == 200
    admin = signed_in(admin_user)

    response = admin.post(
        f"/comptes/utilisateurs/{supervisor.pk}/second-facteur/",
        {"reason": "Téléphone perdu, déclaré le matin même"},
    )
    assert response.status_code == 302, response.content

    assert _sessions_of(supervisor) == []
    enrol = thief.get("/comptes/otp/setup/")
    assert enrol.status_code == 302 and enrol["Location"].startswith("/comptes/login/")
    assert "otpauth" not in enrol.content.decode()
    assert not TOTPDevice.objects.filter(user=supervisor).exists()
    ended = AuditEvent.objects.get(action="auth.sessions_ended", target_id=str(supervisor.pk))
    assert ended.details == {"sessions": 1, "cause": "second_factor_reset"}
    assert _is_signed_out(thief)


@pytest.mark.django_db
def test_password_set_by_an_administrator_ends_the_sessions_and_their_playback_keys(
    signed_in, supervisor, admin_user
):
    thief = signed_in(supervisor)
    session = thief.session
    session["playbacks"] = {"jeton": {"key": "clé de lecture à usage unique"}}
    session.save()
    admin = signed_in(admin_user)

    response = admin.post(
        f"/comptes/utilisateurs/{supervisor.pk}/mot-de-passe/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content

    # Gone from the store at once, not only refused when next used.
    assert not Session.objects.filter(session_key=session.session_key).exists()
    assert _sessions_of(supervisor) == []
    assert _is_signed_out(thief)


@pytest.mark.django_db
def test_own_password_change_ends_the_other_sessions_and_keeps_this_one(signed_in, supervisor):
    thief = signed_in(supervisor)
    own = signed_in(supervisor)

    response = own.post(
        "/comptes/mot-de-passe/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content

    # Ended in the store at once, before the thief's next request.
    assert _sessions_of(supervisor) == [own.session.session_key]
    assert _is_signed_out(thief)
    assert own.get("/accueil/").status_code == 200


@pytest.mark.django_db
def test_session_of_a_deactivated_account_does_not_come_back_with_its_reactivation(
    signed_in, supervisor, admin_user
):
    thief = signed_in(supervisor)
    admin = signed_in(admin_user)

    admin.post(f"/comptes/utilisateurs/{supervisor.pk}/desactiver/")
    assert _sessions_of(supervisor) == []
    admin.post(f"/comptes/utilisateurs/{supervisor.pk}/reactiver/")

    assert _is_signed_out(thief)


# --- a. A forged "OK" verification is not the DPO's last check -------------------------------


def _break_the_chain() -> None:
    """A checkpoint signed by nobody the chain knows: the next full check finds it."""
    head = AuditEvent.objects.order_by("-seq").first()
    ChainCheckpoint.objects.create(
        seq=head.seq,
        head_hash=head.hash,
        signed_at=timezone.now(),
        signature="00" * 64,
        key_fingerprint="ab" * 32,
    )


@pytest.mark.django_db
def test_forged_ok_verification_row_does_not_show_a_green_chain_to_the_dpo(
    signed_in, supervisor, dpo
):
    for n in range(3):
        record("recording.playback", actor=supervisor, reason=f"consultation {n}")
    _break_the_chain()
    assert not integrity.verify_and_record(actor_name="manage.py verify_audit").ok
    # The intruder, with the application's database login: INSERT is all he needs.
    forged = ChainVerification.objects.create(
        started_at=timezone.now(),
        finished_at=timezone.now() + timedelta(minutes=1),
        events_checked=4,
        ok=True,
        message="",
    )
    fake_event = record(
        "audit.chain_verified",
        actor_name="manage.py verify_audit",
        details={"events_checked": 4, "first_broken_seq": None, "problems": [], "anchor": ""},
    )
    client = signed_in(dpo)

    for url in ("/accueil/", "/audit/"):
        page = client.get(url).content.decode()
        assert "CHAÎNE ROMPUE" in page, url
        assert "chaîne intègre</span>" not in page, url
        assert f"enregistrement n° {forged.pk}" in page, url
        assert f"Événement n° {fake_event.seq} " in page, url
    state = client.get("/api/audit/chain/").json()
    assert state["last_verification"]["ok"] is False
    assert "unknown key" in state["last_verification"]["message"]
    assert len(state["suspicious"]) == 2


@pytest.mark.django_db
def test_a_real_verification_after_the_forgery_is_shown_as_it_is(signed_in, supervisor, dpo):
    record("recording.playback", actor=supervisor, reason="consultation")
    ChainVerification.objects.create(
        started_at=timezone.now(), finished_at=timezone.now(), events_checked=1, ok=False
    )
    assert integrity.verify_and_record(actor_name="manage.py verify_audit").ok
    page = signed_in(dpo).get("/accueil/").content.decode()
    assert "chaîne intègre" in page and "vérification suspects" not in page


# --- b. Anchors never go backwards --------------------------------------------------------------


@pytest.mark.django_db
def test_a_newer_anchor_of_a_shorter_chain_cannot_hide_the_cut(supervisor):
    """With the database's owner login and the signing key, the intruder cuts the newest events
    and anchors the shorter chain: the newest anchor matches it, the one before does not."""
    for n in range(6):
        record("recording.playback", actor=supervisor, reason=f"consultation {n}")
    high, high_location = anchor.write_anchor()
    with suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [high.seq - 2])
    low, low_location = anchor.write_anchor()
    assert low.seq == high.seq - 2 and low.signed_at > high.signed_at

    with pytest.raises(CommandError) as failure:
        call_command("verify_audit")
    message = str(failure.value)
    assert f"the anchor {low_location} holds event #{low.seq}" in message
    assert f"below #{high.seq} held by the anchor before it ({high_location})" in message
    assert f"BROKEN at event #{low.seq + 1}" in message


@pytest.mark.django_db
def test_newest_anchor_must_hold_what_its_name_says(supervisor, settings):
    for n in range(4):
        record("recording.playback", actor=supervisor, reason=f"consultation {n}")
    real, _location = anchor.write_anchor()
    # A genuine anchor of #2 copied under a newer name that claims #4.
    key = chain.load_private_key(settings.AUDIT_SIGNING_KEY)
    at = timezone.now()
    head = AuditEvent.objects.get(seq=2)
    copied = anchor.Anchor(
        seq=2,
        head_hash=head.hash,
        signed_at=at,
        key_fingerprint=chain.public_key_fingerprint(key.public_key()),
        signature=key.sign(chain.anchor_message(2, head.hash, at)).hex(),
    )
    later = at + timedelta(seconds=1)
    name = f"{later:%Y-%m-%d}/{later:%H%M%S%f}Z-{real.seq:012d}.json"
    anchor.FolderAnchors(settings.AUDIT_ANCHOR_DIR).write(name, copied.to_json())

    result = integrity.verify_chain()
    assert not result.ok
    assert "does not hold what its name says: it holds event #2" in result.problems[0]


# --- f. The camera networks are checked at every (re)connection of the recorder ----------------

LOGIN, CAMERA_PASSWORD = "cam-admin", "Bon-M0t/de:Passe@42"


class _Camera(BaseHTTPRequestHandler):
    """An MJPEG camera whose connections last a few seconds (a flaky link: the recorder
    reconnects); every request it gets is kept."""

    def do_GET(self) -> None:
        self.server.requests.append(dict(self.headers.items()))
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        started = time.monotonic()
        index = 0
        try:
            while time.monotonic() - started < self.server.seconds:
                image = cv2.cvtColor(moving_frame(index, 160, 120), cv2.COLOR_RGB2BGR)
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                index += 1
                time.sleep(1 / 12)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


def _camera_server(host: str, port: int, seconds: float) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _Camera)
    server.daemon_threads = True
    server.requests = []
    server.seconds = seconds
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def two_machines():
    """The camera at 127.0.0.1 (inside the camera networks) and another machine at 127.0.0.2,
    on the same port, outside them."""
    inside = _camera_server("127.0.0.1", 0, seconds=2.5)
    port = inside.server_address[1]
    try:
        outside = _camera_server("127.0.0.2", port, seconds=60)
    except OSError:
        inside.shutdown()
        inside.server_close()
        pytest.skip("port taken on 127.0.0.2")
    yield port, inside, outside
    for server in (inside, outside):
        server.shutdown()
        server.server_close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moved_by", ["name", "register"])
def test_source_moved_outside_the_camera_networks_is_not_reconnected(
    two_machines, settings, tmp_path, monkeypatch, moved_by
):
    """While a camera records, its source comes to designate a machine outside the camera
    networks: its name now resolves there, or its address was rewritten in the register. At
    its next reconnection the recorder must not open it (nor hand it the camera's login)."""
    port, inside, outside = two_machines
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CAMERA_NETWORKS = ["127.0.0.1/32"]
    resolves_to = {"cam-gare.test": "127.0.0.1"}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port_, family=0, type=0, proto=0, flags=0):
        if host in resolves_to:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (resolves_to[host], port_))]
        return real_getaddrinfo(host, port_, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    camera = CameraFactory(code="CAM-DNS", stream_url=f"http://cam-gare.test:{port}/video.mjpg")
    camera.stream_credentials = camera_secrets.seal(LOGIN, CAMERA_PASSWORD, camera_id=camera.pk)
    camera.save(update_fields=["stream_credentials"])

    stop = threading.Event()
    timer = threading.Timer(25, stop.set)
    outcome: list[str] = []

    def record_camera() -> None:
        try:
            outcome.append(
                run_recorder(
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
            )
        finally:
            connections.close_all()  # this thread's own database connection

    recorder = threading.Thread(target=record_camera)
    timer.start()
    recorder.start()
    try:
        deadline = time.monotonic() + 20
        while not Segment.objects.filter(camera=camera).exists():
            assert time.monotonic() < deadline, "no segment recorded from the camera"
            time.sleep(0.2)
        if moved_by == "name":
            resolves_to["cam-gare.test"] = "127.0.0.2"
        else:
            Camera.objects.filter(pk=camera.pk).update(
                stream_url=f"http://127.0.0.2:{port}/video.mjpg"
            )
        recorder.join(timeout=30)
    finally:
        stop.set()
        timer.cancel()
        recorder.join(timeout=30)

    assert outside.requests == []
    assert len(inside.requests) >= 1
    assert outcome and outcome[0].startswith("error: SourceRefused"), outcome
    assert "réseaux de caméras" in outcome[0]
    gap = Gap.objects.filter(camera=camera).latest("started_at")
    assert "Reconnexion refusée" in gap.reason and "réseaux de caméras" in gap.reason
    lease = RecorderLease.objects.get(camera=camera)
    assert lease.state == RecorderLease.State.ERROR and "réseaux de caméras" in lease.last_error
    refused = AuditEvent.objects.filter(action="recording.gap", target_id=str(camera.pk))
    texts = [gap.reason, lease.last_error, outcome[0], *refused.values_list("reason", flat=True)]
    for text in texts:
        assert CAMERA_PASSWORD not in text and LOGIN not in text, text


@pytest.mark.django_db
def test_a_restore_declared_in_the_chain_lets_the_anchors_step_back_visibly(supervisor, capsys):
    for n in range(6):
        record("recording.playback", actor=supervisor, reason=f"consultation {n}")
    high, _location = anchor.write_anchor()
    with suspended(), connection.cursor() as cursor:  # the backup of the day before, restored
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [high.seq - 2])

    call_command("acknowledge_anchor_step_back", reason="Incident disque, sauvegarde de la veille")
    call_command("verify_audit")

    declared = AuditEvent.objects.get(action="audit.anchors_step_back")
    assert declared.details["highest_anchored_seq"] == high.seq
    assert declared.reason == "Incident disque, sauvegarde de la veille"
    assert f"anchors stepped back as declared by event #{declared.seq}" in capsys.readouterr().out
    # The declaration covers that step only: a later cut is named again.
    for n in range(3):
        record("recording.playback", actor=supervisor, reason=f"après {n}")
    anchor.write_anchor()
    with suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [declared.seq + 1])
    anchor.write_anchor()
    with pytest.raises(CommandError, match="the anchors went backwards"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_an_old_signed_ok_replayed_after_a_broken_check_is_not_the_last_check(
    signed_in, supervisor, dpo
):
    record("recording.playback", actor=supervisor, reason="consultation")
    assert integrity.verify_and_record(actor_name="manage.py verify_audit").ok
    genuine_ok = AuditEvent.objects.get(action="audit.chain_verified")
    _break_the_chain()
    assert not integrity.verify_and_record(actor_name="manage.py verify_audit").ok
    # The intruder copies the signed "OK" of the day before into a new event.
    replay = record(
        "audit.chain_verified", actor_name="manage.py verify_audit", details=genuine_ok.details
    )

    state = signed_in(dpo).get("/api/audit/chain/").json()
    assert state["last_verification"]["ok"] is False
    assert any(f"Événement n° {replay.seq} " in text for text in state["suspicious"])
