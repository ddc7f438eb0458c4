"""Security checks: CSRF on every form, session fixation, IDOR, uploads, path traversal.

The CSRF and IDOR checks walk the URL conf (tests/quality/security_urls.py): a new route is
tried for CSRF without any edit here, and a new route with an object id fails
``test_every_object_url_has_an_idor_case_or_a_reason`` until it gets a case or a reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django.utils.http import content_disposition_header
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from audit.models import AuditEvent
from evidence import attachments
from evidence.models import DownloadLink, Export, Requisition
from live import layouts
from recordings import playback
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.conftest import sign_in
from tests.evidence.conftest import PDF, intake_payload, pdf_upload
from tests.evidence.test_verifier_paths import _package
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory
from tests.quality.security_urls import routes

pytestmark = pytest.mark.django_db

PROJECT_APPS = (
    "accounts",
    "audit",
    "cameras",
    "recordings",
    "evidence",
    "operations",
    "compliance",
)
#: Probe order when looking for a role allowed to use a route.
ROLES = [Role.ADMIN, Role.SUPERVISOR, Role.DPO, Role.OPERATOR, Role.OPJ, Role.MAGISTRATE]
UNSAFE_API_METHODS = ("post", "put", "patch", "delete")


# --- The world: one person per role, two services, two cameras, requisitions, links -------------


def _requisition(officer, number: str) -> Requisition:
    return Requisition.objects.create(
        procedure_number=number,
        legal_frame="60-1",
        officer=officer,
        service=officer.service,
        facts=f"Faits secrets {number}",
        justification="Identifier l'auteur.",
        status="ready",
        submitted_at=timezone.now() - timedelta(hours=3),
        decided_at=timezone.now() - timedelta(hours=2),
        attachment_name="r.pdf",
        attachment_type="application/pdf",
        attachment_size=10,
        attachment_sha256="0" * 64,
        attachment_path=f"evidence/attachments/{number}.csuseg",
        attachment_key_id=f"req/{number}",
        attachment_key=b"k",
    )


def _link(requisition: Requisition, token: str, issued_by) -> DownloadLink:
    export = Export.objects.create(
        requisition=requisition,
        state=Export.State.READY,
        prepared_by=issued_by,
        finished_at=timezone.now(),
        released_at=timezone.now(),
        package_sha256="1" * 64,
        files=[],
    )
    return DownloadLink.objects.create(
        export=export,
        recipient=requisition.officer,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        issued_by=issued_by,
        issued_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=1),
    )


@pytest.fixture
def world(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    police = ServiceFactory(code="police-sec", name="Commissariat sécurité")
    gendarmerie = ServiceFactory(code="gend-sec", name="Brigade sécurité", kind="gendarmerie")
    people = {role: UserFactory(role=role) for role in Role.values}
    people[Role.OPJ].service = police
    people[Role.OPJ].save(update_fields=["service"])
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        HabilitationFactory(
            user=people[role], all_cameras=True, can_live=True, can_replay=True, can_extract=True
        )
    ours = CameraFactory(
        code="CAM-SEC1",
        authorization=AuthorizationFactory(),
        stream_url=f"file://{tmp_path}/absent.mp4",
    )
    theirs = CameraFactory(
        code="CAM-SEC2",
        authorization=AuthorizationFactory(),
        stream_url=f"file://{tmp_path}/absent.mp4",
    )
    other_opj = UserFactory(role=Role.OPJ, service=gendarmerie)
    police_req = _requisition(people[Role.OPJ], "POL-SEC-1")
    gend_req = _requisition(other_opj, "GEND-SEC-1")
    _link(police_req, "jeton-police", people[Role.SUPERVISOR])
    _link(gend_req, "jeton-gendarmerie", people[Role.SUPERVISOR])
    # Operator and supervisor habilitated for CAM-SEC1 only.
    narrow_operator = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=narrow_operator, camera_codes=[ours.code], can_live=True)
    narrow_supervisor = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(
        user=narrow_supervisor, camera_codes=[ours.code], can_live=True, can_replay=True
    )
    return {
        "people": people,
        "other_opj": other_opj,
        "ours": ours,
        "theirs": theirs,
        "police_req": police_req,
        "gend_req": gend_req,
        "narrow_operator": narrow_operator,
        "narrow_supervisor": narrow_supervisor,
    }


def _values(world) -> dict:
    """Values for every URL parameter: real objects where one exists, generic ones otherwise."""
    return {
        "pk": world["police_req"].pk,
        "seq": 1,
        "code": world["ours"].code,
        "camera": world["ours"].code,
        "version": 1,
        "token": "jeton-inconnu",
        "number": "2026-000001",
        "name": "categories",
        "year": timezone.localdate().year,
        "slug": "traitements",
        "link_pk": 1,
        "index": 1,
        "part": "etat",
        "output": "pdf",
        "service": "police_municipale",
    }


def _counts() -> tuple:
    """Rows of every model of the product, and the last audit sequence number."""
    rows = tuple(
        model.objects.count()
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
    )
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return rows, last


class _RolledBack(Exception):
    pass


def _copy(client: Client, *, enforce: bool) -> Client:
    copy = Client(enforce_csrf_checks=enforce, raise_request_exception=False)
    copy.cookies = SimpleCookie(client.cookies)
    return copy


def _probe(client: Client, method: str, url: str) -> int:
    """The status a request with a valid token would get, without keeping what it changed."""
    try:
        with transaction.atomic():
            status = getattr(_copy(client, enforce=False), method)(url).status_code
            raise _RolledBack
    except _RolledBack:
        return status


# --- 1. CSRF on every form ----------------------------------------------------------------------


def test_every_unsafe_request_without_the_csrf_token_is_refused(world):
    """Every route, as a signed-in allowed person, without the token: 403 and nothing changes.

    GET-only routes are detected by trying the method with a valid token (the test client does
    not enforce CSRF then, inside a rolled-back transaction): 405 for every role means the route
    does not accept it. Pages are tried with POST, API endpoints (session authentication) with
    POST, PUT, PATCH and DELETE.
    """
    clients = {role: sign_in(Client(), world["people"][role]) for role in ROLES}
    values = _values(world)
    tried, get_only, failures = [], [], []
    for route in routes():
        url = route.url(values)
        for method in UNSAFE_API_METHODS if route.is_api else ("post",):
            statuses = {}
            allowed = None
            for role in ROLES:
                statuses[role] = _probe(clients[role], method, url)
                if statuses[role] not in (401, 403, 405):
                    allowed = role
                    break
            if allowed is None:
                if 405 in statuses.values():
                    get_only.append(f"{method.upper()} {route.name}")
                else:
                    failures.append(f"{method.upper()} {url}: no role reaches it ({statuses})")
                continue
            before = _counts()
            response = getattr(_copy(clients[allowed], enforce=True), method)(url)
            tried.append(f"{method.upper()} {route.name}")
            if response.status_code != 403 or b"CSRF" not in response.content:
                failures.append(
                    f"{method.upper()} {url} as {allowed}: {response.status_code} without token"
                )
            if _counts() != before:
                failures.append(f"{method.upper()} {url} as {allowed}: rows changed")
    assert not failures, "\n".join(failures)
    # The walk really reached the forms: a few that must be among them.
    for expected in (
        "POST accounts:user_create",
        "POST evidence:requisition_cancel",
        "POST retention:hold_create",
        "POST operations:clock_in",
        "POST compliance:request_create",
        "POST accounts:logout",
        "POST set_language",
        "POST token",
        "POST requisition-list",
        "PATCH user-detail",
        "POST hold-release",
    ):
        assert expected in tried, expected
    assert "POST me" in get_only  # a GET-only endpoint: 405 with the token, skipped


# --- 2. Session fixation ------------------------------------------------------------------------


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_the_session_key_changes_at_each_sign_in_step(operator):
    from django.conf import settings

    device = TOTPDevice.objects.create(user=operator, name="TOTP", confirmed=True)
    client = Client()
    client.get("/comptes/login/")
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    planted = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = planted

    response = client.post(
        "/comptes/login/", {"username": operator.username, "password": _password()}
    )
    assert response.status_code == 302
    assert client.get("/accueil/")["Location"] == "/comptes/otp/"
    after_password = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after_password != planted

    response = client.post("/comptes/otp/", {"token": _code(device)})
    assert response.status_code == 302 and response["Location"] == "/accueil/"
    after_code = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after_code not in (planted, after_password)
    assert client.get("/accueil/").status_code == 200

    # Whoever holds the earlier keys holds nothing.
    for old in (planted, after_password):
        stale = Client()
        stale.cookies[settings.SESSION_COOKIE_NAME] = old
        assert stale.get("/accueil/").status_code == 302


def _password() -> str:
    from tests.factories import PASSWORD

    return PASSWORD


# --- 3. IDOR on every object id -----------------------------------------------------------------

#: Routes with an object parameter and no case below, each with the reason.
IDOR_ALLOW_LIST = {
    # Every administrator administers every account and habilitation: no object scope.
    "accounts:user_detail": "admin-wide",
    "accounts:user_edit": "admin-wide",
    "accounts:user_deactivate": "admin-wide",
    "accounts:user_reactivate": "admin-wide",
    "accounts:second_factor_reset": "admin-wide",
    "accounts:user_password_reset": "admin-wide",
    "accounts:training_create": "admin-wide",
    "user-trainings": "admin-wide",
    "accounts:habilitation_detail": "admin-wide",
    "accounts:habilitation_edit": "admin-wide",
    "accounts:habilitation_revoke": "admin-wide",
    "user-detail": "admin-wide",
    "habilitation-detail": "admin-wide",
    "habilitation-revoke": "admin-wide",
    "service-detail": "admin-wide",
    # Communes and conventions are the whole CSU's, administered as habilitations are.
    "accounts:commune_edit": "admin-wide",
    "accounts:agreement_detail": "admin-wide",
    "accounts:agreement_end": "admin-wide",
    "commune-detail": "admin-wide",
    "agreement-detail": "admin-wide",
    "agreement-end": "admin-wide",
    # A part of the room's dashboard, by name: the same for every member of the staff.
    "operations:dashboard_part": "not an object",
    # The audit log is read whole by its readers (DPO, admin): no per-event scope.
    "audit:event_detail": "log-wide",
    # The camera register and authorizations are public to their readers (no images served).
    "cameras:authorization_detail": "register-wide",
    "cameras:authorization_edit": "register-wide",
    "authorization-detail": "register-wide",
    "cameras:camera_detail": "register-wide",
    "cameras:camera_edit": "register-wide",
    "cameras:camera_history": "register-wide",
    "camera-detail": "register-wide",
    "camera-history": "register-wide",
    "camera-outages": "register-wide",
    "camera-masks": "register-wide",
    "cameras:device_detail": "register-wide",
    "cameras:device_edit": "register-wide",
    "device-detail": "register-wide",
    "cameras:retention_change_validate": "the DPO decides on every camera's retention",
    "cameras:retention_change_refuse": "the DPO decides on every camera's retention",
    "retention-change-detail": "register-wide",
    "retention-change-validate": "the DPO decides on every camera's retention",
    "retention-change-refuse": "the DPO decides on every camera's retention",
    "cameras:camera_reset_reference": "register managers act on every camera",
    "cameras:authorization_alert_acknowledge": "supervisors act on every authorization's alert",
    "authorization-alert-detail": "register-wide",
    "authorization-alert-acknowledge": "supervisors act on every authorization's alert",
    "camera-reset-reference": "register managers act on every camera",
    # Mask editing needs the live habilitation: checked by tests/cameras (not built here).
    "cameras:mask_editor": "not built here",
    "cameras:mask_validate": "not built here",
    "camera-mask-validate": "not built here",
    # Magistrates decide on every requisition of the court; supervisors extract for every
    # service (their habilitation is checked by the export itself, tests/evidence).
    "evidence:requisition_decision": "court-wide",
    "requisition-decision": "court-wide",
    "evidence:export_clip": (
        "room-wide (a supervisor's check before release, extraction right checked per camera:"
        " tests/evidence/test_clip_preview.py; officers get 403 by role)"
    ),
    "evidence:requisition_review": "court-wide (a magistrate's action; others get 403 by role)",
    "requisition-review": "court-wide (a magistrate's action; others get 403 by role)",
    "evidence:export_start": "room-wide",
    "evidence:link_reissue": "room-wide (a supervisor's action; officers get 403 by role)",
    "requisition-reissue": "room-wide (a supervisor's action; officers get 403 by role)",
    "evidence:export_release": "room-wide",
    "requisition-export": "room-wide",
    "requisition-release": "room-wide",
    # The registers, destructions, holds, shifts, rota and signalements belong to the room.
    "extraction-register-detail": "register-wide",
    "handover-register-detail": "register-wide",
    "retention:destruction_detail": "register-wide",
    "retention:hold_detail": "room-wide",
    "retention:hold_release": "room-wide",
    "retention:hold_renew": "room-wide",
    "destruction-detail": "register-wide",
    "purge-run-detail": "register-wide",
    "hold-detail": "room-wide",
    "hold-release": "room-wide",
    "hold-renew": "room-wide",
    "operations:shift_close": "room-wide",
    "operations:rota_remove": "room-wide",
    "operations:signalement_detail": "room-wide",
    "signalement-detail": "room-wide",
    "signalement-requisitions": "room-wide (requisitions filtered: tests/operations)",
    # The alarm queue is the whole room's: any member of the staff acknowledges or closes.
    "operations:alarm_acknowledge": "room-wide",
    "operations:alarm_close": "room-wide",
    "alarm-acknowledge": "room-wide",
    "alarm-close": "room-wide",
    "signalement-service-arrived": "room-wide",
    # Not object ids: a chart name, a year, a register slug.
    "operations:statistics_chart": "not an object",
    "operations:annual_report": "not an object",
    "compliance:register": "not an object",
    # Access requests are handled by every DPO; the footage gate (extraction habilitation),
    # the DPO's validation and the single download are attacked in
    # tests/security/test_access_request_extracts.py.
    "compliance:request_detail": "DPO-wide",
    # The wall's rooms and their presets are shared by everyone at the wall; supervisors change
    # them (others get 403 by role: tests/live/test_layouts.py).
    "live-preset-detail": "room-wide",
    "live-room-detail": "room-wide",
    "live:room_rename": "room-wide (a supervisor's action)",
    "live:room_delete": "room-wide (a supervisor's action)",
    "compliance:request_answer": "DPO-wide",
    "compliance:extract_build": "habilitation-scoped: tests/security",
    "compliance:extract_areas": "habilitation-scoped: tests/compliance/test_extract_areas_page",
    "compliance:extract_frame": "habilitation-scoped: tests/compliance/test_extract_areas_page",
    "compliance:extract_release": "DPO-wide (supervisors get 403 by role: tests/security)",
    "compliance:extract_download": "habilitation-scoped, single use: tests/security",
    # The breach register is the DPO's alone, every breach of it (other roles get 403 by role:
    # tests/compliance/test_breaches.py).
    "compliance:breach_detail": "DPO-wide",
    "compliance:breach_edit": "DPO-wide",
    "compliance:breach_decide": "DPO-wide",
    "compliance:breach_close": "DPO-wide",
    "breach-detail": "DPO-wide",
    "breach-decide": "DPO-wide",
    # The record of processing activities and the impact assessment are the DPO's alone, every
    # version of them (other roles get 403 by role: tests/compliance/test_processing_record.py,
    # tests/compliance/test_impact_assessment.py).
    "compliance:processing_record_version": "DPO-wide",
    "compliance:impact_assessment_download": "DPO-wide",
    "processing-record-version-detail": "DPO-wide",
    "impact-assessment-detail": "DPO-wide",
}


def _as(world, who: str) -> Client:
    person = world[who] if who in world else world["people"][who]
    return sign_in(Client(), person)


def _playback(client: Client, camera) -> str:
    """A playback prepared in ``client``'s session (as replay_camera leaves it)."""
    token = "pb-" + hashlib.sha256(str(camera.pk).encode()).hexdigest()[:16]
    now = timezone.now()
    prepared = playback.Playback(
        token=token,
        camera_id=camera.pk,
        camera_code=camera.code,
        start=now - timedelta(minutes=10),
        end=now - timedelta(minutes=5),
        reason="Vérification",
        masked=False,
        size=4,
        expires_at=now + timedelta(minutes=30),
        key=b"\0" * 32,
    )
    prepared.path.write_bytes(b"data")
    session = client.session
    session[playback.SESSION_KEY] = {token: prepared.as_session()}
    session.save()
    return token


def _req(world, key="police_req"):
    return world[key].pk


def _own_layout(world) -> int:
    """A saved wall of the operator's, named with the secret the intruder must never see."""
    return layouts.layout_create(
        actor=world["people"][Role.OPERATOR], name="POL-SEC-1", size=1, tiles=[None]
    ).pk


#: name → (owner or allowed person, intruder, method, url builder, refused status).
#: The owner's request proves the URL reaches the object; the intruder gets the refused status
#: and never the object's contents: 404 where the object lies outside a role's scope (a
#: requisition of another service), 403 where the person may use the page but no
#: habilitation covers the camera.
IDOR_CASES = {
    "evidence:requisition_detail": (
        Role.OPJ,
        "other_opj",
        "get",
        lambda w: f"/requisitions/{_req(w)}/",
        404,
    ),
    "evidence:requisition_attachment": (
        None,
        "other_opj",
        "get",
        lambda w: f"/requisitions/{_req(w)}/piece/",
        404,
    ),
    "evidence:requisition_cancel": (
        None,
        "other_opj",
        "post",
        lambda w: f"/requisitions/{_req(w)}/annulation/",
        404,
    ),
    "evidence:download": (
        None,
        "other_opj",
        "post",
        lambda w: f"/requisitions/{_req(w)}/telechargement/",
        404,
    ),
    "requisition-download": (
        None,
        "other_opj",
        "post",
        lambda w: f"/api/requisitions/{_req(w)}/download/",
        404,
    ),
    "evidence:handover_record": (
        None,
        "other_opj",
        "get",
        lambda w: f"/requisitions/{_req(w)}/remise/1/proces-verbal/",
        404,
    ),
    "evidence:handover_record_signature": (
        None,
        "other_opj",
        "get",
        lambda w: f"/requisitions/{_req(w)}/remise/1/proces-verbal.sig",
        404,
    ),
    "requisition-detail": (
        Role.OPJ,
        "other_opj",
        "get",
        lambda w: f"/api/requisitions/{_req(w)}/",
        404,
    ),
    "requisition-cancel": (
        None,
        "other_opj",
        "post",
        lambda w: f"/api/requisitions/{_req(w)}/cancel/",
        404,
    ),
    "requisition-signalements": (
        Role.OPJ,
        "other_opj",
        "get",
        lambda w: f"/api/operations/requisitions/{_req(w)}/signalements/",
        404,
    ),
    "requisition-signalement-detail": (
        None,
        "other_opj",
        "delete",
        lambda w: f"/api/operations/requisitions/{_req(w)}/signalements/2026-000001/",
        404,
    ),
    "cameras:camera_snapshot": (
        None,
        "narrow_operator",
        "get",
        lambda w: f"/cameras/{w['theirs'].code}/instantane.jpg",
        403,
    ),
    "camera-snapshot": (
        None,
        "narrow_operator",
        "get",
        lambda w: f"/api/cameras/{w['theirs'].code}/snapshot/",
        403,
    ),
    "recordings:replay_camera": (
        None,
        "narrow_supervisor",
        "get",
        lambda w: f"/enregistrements/relecture/{w['theirs'].code}/",
        403,
    ),
    "live-layout-detail": (
        Role.OPERATOR,
        "narrow_operator",
        "get",
        lambda w: f"/api/live/layouts/{_own_layout(w)}/",
        404,
    ),
    # The token of another person's session: the owner's own page is the positive control.
    "recordings:replay_player": ("playback", "playback", "get", None, 404),
    "recordings:replay_video": ("playback", "playback", "get", None, 404),
}


def test_every_object_url_has_an_idor_case_or_a_reason():
    objects = {r.name for r in routes() if r.params}
    missing = sorted(objects - set(IDOR_CASES) - set(IDOR_ALLOW_LIST))
    assert not missing, f"object URLs without an IDOR case or a reason: {missing}"
    assert not set(IDOR_CASES) & set(IDOR_ALLOW_LIST)
    assert not (set(IDOR_CASES) | set(IDOR_ALLOW_LIST)) - objects, "stale names"


@pytest.mark.parametrize("name", sorted(IDOR_CASES))
def test_no_object_of_someone_else(world, name):
    owner, intruder, method, build, refused = IDOR_CASES[name]
    secrets = [b"POL-SEC-1", b"Faits secrets POL-SEC-1", b"PK\x03\x04"]
    if owner == "playback":
        supervisor = world["people"][Role.SUPERVISOR]
        owner_client = sign_in(Client(), supervisor)
        token = _playback(owner_client, world["ours"])
        suffix = "" if name.endswith("player") else "video.mp4"
        url = f"/enregistrements/relecture/{world['ours'].code}/lecture/{token}/{suffix}"
        if name.endswith("player"):
            assert owner_client.get(url).status_code == 200
        # Another supervisor, habilitated for the same camera, with the stolen token.
        intruder = UserFactory(role=Role.SUPERVISOR)
        HabilitationFactory(user=intruder, all_cameras=True, can_replay=True)
        intruder_client = sign_in(Client(), intruder)
        response = intruder_client.get(url)
        assert response.status_code == refused, response.status_code
        return
    url = build(world)
    if owner is not None:
        response = getattr(_as(world, owner), method)(url)
        assert response.status_code == 200, (url, response.status_code)
        if "detail" in name:
            assert b"POL-SEC-1" in response.content
    client = _as(world, intruder)
    client.raise_request_exception = False
    response = getattr(client, method)(url)
    assert response.status_code == refused, (url, response.status_code)
    body = response.content if not response.streaming else b"".join(response.streaming_content)
    assert not any(secret in body for secret in secrets)
    # Nothing of the object changed (refusals themselves may be audited).
    assert Requisition.objects.get(pk=world["police_req"].pk).status == "ready"
    assert not DownloadLink.objects.filter(used_at__isnull=False).exists()


# --- 4. Attachment uploads with wrong types -----------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\0" * 200
PE = b"MZ\x90\x00" + b"\0" * 60 + b"PE\0\0" + b"\0" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
POLYGLOT = b"GIF89a junk junk\n" + PDF

UPLOADS = [
    ("requisition.pdf", ELF, "n'est ni un PDF ni une image"),
    ("requisition.pdf", PE, "n'est ni un PDF ni une image"),
    ("scan.png", HTML, "n'est ni un PDF ni une image"),
    ("scan.png", SVG, "n'est ni un PDF ni une image"),
    ("requisition.pdf", b"", "est vide"),
    ("requisition.pdf", POLYGLOT, "n'est ni un PDF ni une image"),
    ("requisition.png", PDF, "ne correspond pas à son contenu"),
    ("big.pdf", b"%PDF-1.4\n" + b"0" * (70 * 1024) + b"\n%%EOF\n", "la limite est de"),
]


def _stored_attachments() -> list[str]:
    if not default_storage.exists("evidence/attachments"):
        return []
    return default_storage.listdir("evidence/attachments")[1]


@pytest.mark.parametrize(("name", "data", "message"), UPLOADS)
def test_wrong_attachments_are_refused_and_nothing_is_stored(world, settings, name, data, message):
    settings.EVIDENCE_ATTACHMENT_MAX_BYTES = 64 * 1024
    client = sign_in(Client(), world["people"][Role.OPJ])
    before = Requisition.objects.count()
    payload = intake_payload(world["ours"].code, attachment=pdf_upload(name, data))
    response = client.post("/api/requisitions/", payload)
    assert response.status_code == 400, response.content
    errors = response.json()
    text = json.dumps(errors, ensure_ascii=False)
    assert message in text, text
    assert Requisition.objects.count() == before
    assert _stored_attachments() == []


def test_a_proper_scan_is_accepted_so_the_refusals_above_mean_something(world):
    client = sign_in(Client(), world["people"][Role.OPJ])
    payload = intake_payload(world["ours"].code, procedure_number="2026/SEC-OK")
    response = client.post("/api/requisitions/", payload)
    assert response.status_code == 201, response.content
    assert len(_stored_attachments()) == 1


# --- 5. Path traversal in file names ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd.pdf",
        "/etc/cron.d/evil.pdf",
        "..\\..\\windows\\evil.pdf",
        "evil\x00.pdf",
        "ev\nil.pdf",
    ],
)
def test_attachment_names_never_reach_the_storage_path(settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path / "media"
    content_type = attachments.check(name, PDF)
    stored = attachments.store(name, PDF, content_type)
    assert stored.path.startswith("evidence/attachments/") and stored.path.endswith(".csuseg")
    assert "/" not in stored.name and "\\" not in stored.name and ".." not in stored.name
    assert stored.name.isprintable() and stored.name.endswith(".pdf")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [tmp_path / "media" / stored.path]


def test_uploaded_names_are_reduced_to_a_plain_name(world):
    client = sign_in(Client(), world["people"][Role.OPJ])
    payload = intake_payload(
        world["ours"].code, attachment=pdf_upload("../../../tmp/évil.pdf", PDF)
    )
    response = client.post("/api/requisitions/", payload)
    assert response.status_code == 201, response.content
    requisition = Requisition.objects.get(pk=response.json()["id"])
    assert requisition.attachment_name == "évil.pdf"
    assert not requisition.attachment_path.count("..")


def test_the_scan_is_served_with_a_quoted_content_disposition(world):
    officer = world["people"][Role.OPJ]
    client = sign_in(Client(), officer)
    payload = intake_payload(world["ours"].code)
    response = client.post("/api/requisitions/", payload)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    # A name as a browser may send it (multipart quoting differs between clients).
    stored = 'scan "final"; filename=evil.exe é.pdf'
    Requisition.objects.filter(pk=pk).update(attachment_name=stored)
    served = client.get(f"/requisitions/{pk}/piece/")
    assert served.status_code == 200
    header = served["Content-Disposition"]
    assert header == content_disposition_header(False, stored)
    assert header.startswith("inline; filename*=utf-8''") and '"' not in header


def test_the_package_download_names_are_quoted(world):
    from evidence.api import package_response

    export = Export.objects.get(requisition=world["police_req"])
    response = package_response(export)
    assert response["Content-Disposition"] == content_disposition_header(
        True, f"{export.package_name}.zip"
    )


def _zip_with(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    folder = _package(tmp_path / "p", ["clip.mp4"])
    archive = tmp_path / "paquet.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            zf.write(path, path.relative_to(folder).as_posix())
        for member, data in extra.items():
            zf.writestr(zipfile.ZipInfo(member), data)
    return archive


def test_verify_export_accepts_an_intact_archive(tmp_path):
    out = io.StringIO()
    call_command("verify_export", str(_zip_with(tmp_path, {})), stdout=out)
    assert out.getvalue().strip().endswith("OK")


def _listing(tmp_path: Path) -> list[Path]:
    return sorted([*tmp_path.parent.iterdir(), *tmp_path.rglob("*")])


@pytest.mark.parametrize("member", ["../x", "/tmp/csu-absolu-x", "a/../../x", "..\\x"])
def test_verify_export_refuses_members_outside_the_package(tmp_path, member):
    archive = _zip_with(tmp_path, {member: b"x"})
    before = _listing(tmp_path)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_export", str(archive), stdout=out)
    assert member in out.getvalue()
    after = _listing(tmp_path)
    assert after == before and not Path("/tmp/csu-absolu-x").exists()


@pytest.mark.parametrize("code", ["../x", "a/b", "..", "/abs", "a\\b", "x\x00"])
def test_segment_paths_cannot_take_a_path_from_the_camera_code(world, code):
    """Segment paths are segments/<camera code>/<UTC time>-<random>: the code is the only text a
    person chose, and it cannot hold a separator or start with a dot."""
    from recordings.store import object_path

    camera = world["ours"]
    path = object_path(camera, timezone.now())
    assert re.fullmatch(r"segments/CAM-SEC1/\d{4}/\d\d/\d\d/\d{6}-[0-9a-f]{12}\.csuseg", path)
    camera.code = code
    with pytest.raises(ValidationError) as refused:
        camera.full_clean()
    assert "code" in refused.value.message_dict
