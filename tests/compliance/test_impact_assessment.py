"""The data-protection impact assessment (AIPD, RGPD art. 35.3.c): its versions kept encrypted
with the authorizations they cover, bad files refused with nothing stored, the DPO reminded once
per reason to review it (a year, a new camera, a changed authorization), in the audit pack."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from cameras import services as camera_services
from compliance import aipd, pack, processing
from compliance.models import ImpactAssessment, ImpactAssessmentReminder
from compliance.tasks import remind_impact_assessment
from csu.celery import app
from recordings import crypto, keys
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

DPO = ["dpo"]

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    b"% Analyse d'impact de la videoprotection, version 2026\ntrailer << >>\n%%EOF\n"
)


def _odt() -> bytes:
    return processing.render_odt(
        {"title": "AIPD", "sections": [_section("Risques")]}, "Analyse d'impact"
    )


def _section(heading: str):
    return {"heading": heading, "paragraphs": ["Accès illégitime."], "columns": [], "rows": []}


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def authorization(db):
    return AuthorizationFactory(number="73-2025-VP-0042", retention_days=15)


def _add(dpo, authorization, data: bytes = PDF, name: str = "aipd-2026.pdf", **extra):
    values = {
        "actor": dpo,
        "file_name": name,
        "data": data,
        "assessed_on": timezone.localdate(),
        "author": "Cabinet Conseil RGPD",
        "summary": "Risques d'accès illégitime ; masquage et habilitations.",
        "authorizations": [authorization],
        **extra,
    }
    return aipd.impact_assessment_add(**values)


def _stored_files() -> list[str]:
    try:
        return default_storage.listdir("compliance/impact-assessments")[1]
    except FileNotFoundError:
        return []


def test_a_version_is_kept_encrypted_and_downloaded_as_uploaded(authorization, dpo, signed_in):
    client = signed_in(dpo)
    response = client.post(
        "/conformite/analyse-impact/nouvelle/",
        {
            "file": SimpleUploadedFile("AIPD vidéoprotection.pdf", PDF),
            "assessed_on": "2026-03-02",
            "author": "Cabinet Conseil RGPD",
            "summary": "Risques d'accès illégitime ; masquage.",
            "authorizations": [authorization.pk],
        },
    )
    assert response.status_code == 302
    assessment = ImpactAssessment.objects.get()
    assert assessment.version == 1 and assessment.assessed_on == date(2026, 3, 2)
    assert list(assessment.authorizations.all()) == [authorization]
    assert assessment.file_type == "application/pdf" and assessment.file_size == len(PDF)
    with default_storage.open(assessment.file_path, "rb") as handle:
        stored = handle.read()
    assert b"videoprotection" not in stored  # never in clear at rest
    download = client.get(f"/conformite/analyse-impact/{assessment.pk}/fichier/")
    assert download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    added = AuditEvent.objects.get(action="impact_assessment.added")
    assert added.details["authorizations"] == ["73-2025-VP-0042"]
    assert added.details["sha256"] == assessment.file_sha256
    assert AuditEvent.objects.filter(action="impact_assessment.downloaded").count() == 1
    page = client.get("/conformite/analyse-impact/").content.decode()
    assert "AIPD vidéoprotection.pdf" in page and "73-2025-VP-0042" in page


def test_odt_and_docx_are_accepted_and_numbered_in_order(authorization, dpo):
    first = _add(dpo, authorization, _odt(), "aipd.odt")
    second = _add(dpo, authorization, _docx(), "aipd.docx")
    assert (first.version, first.file_type) == (1, aipd.ODT)
    assert (second.version, second.file_type) == (2, aipd.DOCX)
    assert aipd.current() == second


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("aipd.pdf", b"", "Le fichier de l'analyse d'impact est vide."),
        ("aipd.pdf", b"Simple texte, pas un document.", "ni un PDF, ni un document OpenDocument"),
        ("aipd.docx", PDF, "ne correspond pas à son contenu (.pdf)"),
        ("aipd.pdf", PDF[:-7], "est tronqué ou endommagé"),
        ("aipd.zip", b"PK\x03\x04" + b"\x00" * 40, "ni un PDF, ni un document OpenDocument"),
    ],
)
def test_bad_files_are_refused_in_french_and_nothing_is_stored(
    authorization, dpo, signed_in, name, data, message
):
    response = signed_in(dpo).post(
        "/conformite/analyse-impact/nouvelle/",
        {
            "file": SimpleUploadedFile(name, data),
            "assessed_on": "2026-03-02",
            "author": "DPO",
            "summary": "Résumé.",
            "authorizations": [authorization.pk],
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not ImpactAssessment.objects.exists()
    assert _stored_files() == []
    assert not AuditEvent.objects.filter(action="impact_assessment.added").exists()


def test_a_file_too_large_is_refused(authorization, dpo, settings):
    settings.COMPLIANCE_AIPD_MAX_BYTES = 2**20
    big = PDF[:-7] + b" " * 2**20 + b"%%EOF\n"
    with pytest.raises(ValidationError) as refused:
        _add(dpo, authorization, big)
    assert "la limite est de 1 Mo" in refused.value.message_dict["file"][0]
    assert _stored_files() == []


def test_a_version_needs_an_authorization_an_author_and_no_future_date(authorization, dpo):
    with pytest.raises(ValidationError) as refused:
        _add(
            dpo,
            authorization,
            authorizations=[],
            author=" ",
            assessed_on=timezone.localdate() + timedelta(days=1),
        )
    assert set(refused.value.message_dict) == {"authorizations", "author", "assessed_on"}
    assert not ImpactAssessment.objects.exists() and _stored_files() == []


def test_only_the_dpo_records_or_reads_an_assessment(authorization, dpo, supervisor, admin_user):
    assessment = _add(dpo, authorization)
    for person in (supervisor, admin_user):
        with pytest.raises(PermissionDenied):
            _add(person, authorization)
        with pytest.raises(PermissionDenied):
            aipd.impact_assessment_file(actor=person, assessment=assessment)
    assert ImpactAssessment.objects.count() == 1


# --- Reminders -----------------------------------------------------------------------------------


def test_a_missing_assessment_is_reminded_once(db, mailoutbox):
    assert remind_impact_assessment() == 1
    assert remind_impact_assessment() == 0
    assert ImpactAssessmentReminder.objects.get().kind == "missing"
    assert len(mailoutbox) == 1


def test_a_new_camera_raises_the_review_reminder_once(authorization, dpo, mailoutbox, signed_in):
    _add(dpo, authorization)
    assert remind_impact_assessment() == 0
    assert aipd.review_state().up_to_date

    CameraFactory(code="PARC-07", name="Parc du Verney", authorization=authorization)
    assert remind_impact_assessment() == 1
    assert remind_impact_assessment() == 0
    reminder = ImpactAssessmentReminder.objects.get()
    assert reminder.kind == "new_camera" and "PARC-07" in reminder.detail
    assert len(mailoutbox) == 1 and "PARC-07" in mailoutbox[0].body
    event = AuditEvent.objects.get(action="impact_assessment.reminder")
    assert event.details["version"] == 1

    # The state shows on the DPO's compliance home until a new version covers it.
    home = signed_in(dpo).get("/conformite/").content.decode()
    assert "À réviser" in home and "PARC-07" in home
    _add(dpo, authorization)
    assert aipd.review_state().up_to_date
    assert remind_impact_assessment() == 0
    home = signed_in(dpo).get("/conformite/").content.decode()
    assert "À jour : aucun changement du dispositif" in home


def test_a_changed_or_added_authorization_raises_the_reminder_once(authorization, dpo):
    _add(dpo, authorization)
    camera_services.authorization_update(
        authorization=authorization, actor=dpo, perimeter="Centre-ville et gare"
    )
    assert remind_impact_assessment() == 1
    AuthorizationFactory(number="73-2026-VP-0001")
    assert remind_impact_assessment() == 1
    assert remind_impact_assessment() == 0
    kinds = sorted(ImpactAssessmentReminder.objects.values_list("detail", flat=True))
    assert any("73-2025-VP-0042 modifiée" in k for k in kinds)
    assert any("73-2026-VP-0001 enregistrée" in k for k in kinds)


def test_the_review_is_due_after_the_setting_s_days_once(authorization, dpo, clock, settings):
    settings.COMPLIANCE_AIPD_REVIEW_DAYS = 365
    assessed = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    # Registered before the analysis: only the passing of time is a reason to review it here.
    type(authorization).objects.filter(pk=authorization.pk).update(
        created_at=assessed - timedelta(days=30)
    )
    with clock(assessed):
        _add(dpo, authorization, assessed_on=date(2026, 3, 2))
    with clock(datetime(2027, 3, 1, 10, 0, tzinfo=UTC)):
        assert remind_impact_assessment() == 0
    with clock(datetime(2027, 3, 2, 10, 0, tzinfo=UTC)):
        assert remind_impact_assessment() == 1
        assert remind_impact_assessment() == 0
        state = aipd.review_state()
    assert state.due_on == date(2027, 3, 2)
    assert [cause.kind for cause in state.causes] == ["review_due"]
    with clock(datetime(2027, 6, 2, 10, 0, tzinfo=UTC)):
        assert remind_impact_assessment() == 0


# --- Audit pack and permissions ------------------------------------------------------------------


def test_the_audit_pack_holds_the_current_assessment_and_its_versions(authorization, dpo):
    _add(dpo, authorization, _odt(), "aipd-2025.odt")
    current = _add(dpo, authorization, name="aipd-2026.pdf")
    CameraFactory(code="PARC-07", authorization=authorization)
    name, data = pack.build(
        start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2030, 1, 1, tzinfo=UTC), actor=dpo
    )
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = name.removesuffix(".zip")
    assert archive.read(f"{root}/analyse-impact/v2-aipd-2026.pdf") == PDF
    assert not [n for n in archive.namelist() if "aipd-2025" in n]
    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    assert manifest["counts"]["analyses-impact"] == 2
    rows = archive.read(f"{root}/registres/analyses-impact.csv").decode("utf-8-sig")
    assert current.file_sha256 in rows and "73-2025-VP-0042" in rows
    intro = pack._impact_assessment_intro(timezone.now())
    assert "version en vigueur 2" in intro and "À RÉVISER" in intro and "PARC-07" in intro


def test_impact_assessment_pages_and_api_are_the_dpos_alone(authorization, dpo):
    assessment = _add(dpo, authorization)
    check_matrix(url="/conformite/analyse-impact/", allowed=DPO)
    check_matrix(url="/conformite/analyse-impact/nouvelle/", allowed=DPO)
    check_matrix(url="/conformite/analyse-impact/nouvelle/", method="post", data={}, allowed=DPO)
    check_matrix(url=f"/conformite/analyse-impact/{assessment.pk}/fichier/", allowed=DPO)
    check_matrix(url="/api/impact-assessments/", allowed=DPO, api=True)
    check_matrix(url=f"/api/impact-assessments/{assessment.pk}/", allowed=DPO, api=True)
    assert ImpactAssessment.objects.count() == 1


def test_the_api_gives_versions_and_covered_authorizations(authorization, dpo, signed_in):
    _add(dpo, authorization)
    body = signed_in(dpo).get("/api/impact-assessments/").json()
    results = body["results"] if isinstance(body, dict) else body
    assert results[0]["version"] == 1
    assert results[0]["authorizations"] == ["73-2025-VP-0042"]
    assert results[0]["recorded_at"].endswith("Z")


def test_a_master_key_rotation_keeps_the_assessment_readable(authorization, dpo, settings):
    settings.RECORDINGS_KEY_STORE_DIR = settings.DATA_DIR / "keystore"
    assessment = _add(dpo, authorization)
    wrapped_before = bytes(assessment.file_key)
    old, new = keys.master_keys()[0], crypto.MasterKey.generate()
    assert keys.master_key_rotate(old=old, new=new, actor="test") >= 1
    settings.RECORDINGS_MASTER_KEY = base64.b64encode(new.key).decode()
    settings.RECORDINGS_PREVIOUS_MASTER_KEY = ""
    assessment.refresh_from_db()
    assert bytes(assessment.file_key) != wrapped_before
    assert aipd.read(assessment) == PDF


def test_the_reminders_run_daily_and_expire():
    entry = app.conf.beat_schedule["compliance-remind-impact-assessment"]
    assert entry["task"] == "compliance.tasks.remind_impact_assessment"
    assert entry["options"]["expires"] <= 24 * 3600


def test_the_api_lists_versions_in_a_fixed_number_of_queries(
    authorization, dpo, signed_in, django_assert_num_queries
):
    client = signed_in(dpo)
    _add(dpo, authorization)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/impact-assessments/").status_code == 200
    for _ in range(3):
        _add(dpo, AuthorizationFactory())
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(client.get("/api/impact-assessments/").json()) >= 1
