"""The record of processing activities (RGPD art. 30, loi Informatique et Libertés art. 100):
generated from the configuration and the register, published in frozen versions, exported as
PDF and OpenDocument, in the audit pack; the DPO's alone."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from odf import teletype
from odf.opendocument import load
from odf.table import Table
from odf.text import H

from audit.models import AuditEvent
from cameras import services as camera_services
from cameras.purposes import Purpose
from compliance import pack, processing
from compliance.models import ProcessingRecordVersion
from compliance.schedule import retention_schedule
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

DPO = ["dpo"]


@pytest.fixture
def register(db):
    authorization = AuthorizationFactory(
        number="73-2025-VP-0042",
        purposes=[Purpose.PUBLIC_BUILDINGS, Purpose.PERSONS_AND_PROPERTY],
        perimeter="Quartier de la gare",
        retention_days=14,
    )
    CameraFactory(code="GARE-01", authorization=authorization, retention_days=14, police_relay=True)
    CameraFactory(code="GARE-02", authorization=authorization, retention_days=10)
    return authorization


def _section(content, number: int):
    return content["sections"][number - 1]


def _text(content) -> str:
    return json.dumps(content, ensure_ascii=False)


def test_the_record_lists_the_authorizations_their_purposes_the_cameras_and_the_schedule(
    register, settings
):
    content = processing.generate()
    purposes = [str(Purpose.PUBLIC_BUILDINGS.label), str(Purpose.PERSONS_AND_PROPERTY.label)]
    assert _section(content, 3)["rows"] == [[label] for label in purposes]
    (row,) = _section(content, 4)["rows"]
    assert row[0] == "73-2025-VP-0042"
    assert row[3] == "1°, 5°"  # section 3 gives their words
    assert row[4] == " ; ".join(register.quality_labels)
    assert row[6] == "14" and row[7] == "GARE-01, GARE-02"
    cameras = {r[0]: r for r in _section(content, 5)["rows"]}
    assert cameras["GARE-01"][5] == "oui" and cameras["GARE-02"][5] == "non"
    # The whole retention schedule, line by line, images at the cameras' range.
    schedule = _section(content, 9)["rows"]
    assert [r[0] for r in schedule] == [str(line.label) for line in retention_schedule()]
    assert schedule[0][1] == "de 10 jours à 14 jours selon les caméras"
    recipients = " ".join(" ".join(r) for r in _section(content, 8)["rows"])
    assert settings.COMPLIANCE_RECORD["police_station"] in recipients
    assert "images en direct de 1 caméra listée par la convention" in recipients
    assert "réquisition" in recipients and "droit d'accès" in recipients
    controller = dict(_section(content, 1)["rows"])
    assert controller["Responsable du traitement"] == settings.COMPLIANCE_NOTICE["controller"]
    assert (
        controller["Délégué à la protection des données"]
        == (settings.COMPLIANCE_NOTICE["dpo_name"])
    )
    assert _section(content, 11)["paragraphs"] == [
        "Aucun transfert de données hors de l'Union européenne."
    ]


def test_the_security_measures_follow_the_settings(register, settings):
    settings.OTP_REQUIRED_ROLES = ["operator", "dpo"]
    settings.AXES_FAILURE_LIMIT = 7
    measures = dict(_section(processing.generate(), 10)["rows"])
    assert measures["Double authentification (TOTP)"] == (
        "Opérateur, Délégué à la protection des données"
    )
    assert (
        "compte bloqué après 7 échecs" in measures["Protection contre les essais de mots de passe"]
    )
    settings.TRAINING_REQUIRED = False
    measures = dict(_section(processing.generate(), 10)["rows"])
    assert measures["Formation des personnes habilitées (CSI L255-1)"] == (
        "non exigée par la configuration"
    )


def test_the_record_changes_with_the_configuration_and_the_register(register, settings, dpo):
    first = processing.generate()
    assert processing.content_hash(first) == processing.content_hash(processing.generate())
    processing.processing_record_publish(actor=dpo, note="Première version.")
    assert not processing.differs_from_latest()

    settings.COMPLIANCE_NOTICE = {**settings.COMPLIANCE_NOTICE, "controller": "Ville d'Aix"}
    assert "Ville d'Aix" in _text(processing.generate())
    assert processing.differs_from_latest()
    settings.COMPLIANCE_NOTICE = {
        **settings.COMPLIANCE_NOTICE,
        "controller": first["sections"][0]["rows"][1][1],
    }
    assert not processing.differs_from_latest()

    CameraFactory(code="PARC-07", authorization=register, retention_days=14)
    assert "PARC-07" in _text(processing.generate())
    assert processing.differs_from_latest()


def test_a_version_is_downloaded_again_exactly_as_it_was_published(register, dpo, signed_in):
    client = signed_in(dpo)
    response = client.post(
        "/conformite/registre-des-traitements/publier/", {"note": "Mise en service."}
    )
    assert response.status_code == 302
    version = ProcessingRecordVersion.objects.get()
    assert version.number == 1 and version.note == "Mise en service."
    assert version.content_sha256 == processing.content_hash(version.content)
    pdf_then = client.get("/conformite/registre-des-traitements/versions/1/pdf/")
    odt_then = client.get("/conformite/registre-des-traitements/versions/1/odt/")
    assert pdf_then.content.startswith(b"%PDF-")
    assert pdf_then["Content-Type"] == "application/pdf"
    assert "registre-des-traitements-v1.pdf" in pdf_then["Content-Disposition"]
    assert odt_then["Content-Type"] == "application/vnd.oasis.opendocument.text"

    # The register changes; the published version does not.
    CameraFactory(code="PARC-07", authorization=register, retention_days=14)
    camera_services.authorization_update(
        authorization=register, actor=dpo, perimeter="Quartier de la gare et parc"
    )
    assert client.get("/conformite/registre-des-traitements/versions/1/pdf/").content == (
        pdf_then.content
    )
    assert client.get("/conformite/registre-des-traitements/versions/1/odt/").content == (
        odt_then.content
    )
    page = client.get("/conformite/registre-des-traitements/").content.decode()
    assert "a changé depuis la dernière version publiée" in page
    assert "PARC-07" in page

    client.post("/conformite/registre-des-traitements/publier/", {"note": "Parc."})
    second = ProcessingRecordVersion.objects.get(number=2)
    assert "PARC-07" in _text(second.content) and "PARC-07" not in _text(version.content)
    page = client.get("/conformite/registre-des-traitements/").content.decode()
    assert "correspond à la configuration actuelle" in page

    events = AuditEvent.objects.filter(action="processing_record.published").order_by("seq")
    assert [e.details["number"] for e in events] == [1, 2]
    assert events[0].details["content_sha256"] == version.content_sha256
    exported = AuditEvent.objects.filter(action="processing_record.exported")
    assert exported.count() == 4


def test_publishing_an_unchanged_record_is_refused_in_french(register, dpo, signed_in):
    processing.processing_record_publish(actor=dpo)
    with pytest.raises(ValidationError, match="n'a pas changé depuis la version 1"):
        processing.processing_record_publish(actor=dpo)
    response = signed_in(dpo).post("/conformite/registre-des-traitements/publier/", follow=True)
    assert "n&#x27;a pas changé depuis la version 1" in response.content.decode()
    assert ProcessingRecordVersion.objects.count() == 1


def test_only_the_dpo_publishes(register, supervisor, admin_user):
    for person in (supervisor, admin_user):
        with pytest.raises(PermissionDenied):
            processing.processing_record_publish(actor=person)
        with pytest.raises(PermissionDenied):
            processing.processing_record_file(actor=person, output="pdf", version=None)
    assert not ProcessingRecordVersion.objects.exists()


def test_the_odt_is_a_valid_opendocument_text(register):
    data = processing.render(processing.generate(), "odt", None)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    first = archive.infolist()[0]
    # OpenDocument: "mimetype" first, stored uncompressed, then a manifest and the content.
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.text"
    assert {"content.xml", "styles.xml", "META-INF/manifest.xml"} <= set(archive.namelist())
    document = load(io.BytesIO(data))
    headings = [teletype.extractText(h) for h in document.getElementsByType(H)]
    assert headings[0].startswith("1. Responsable du traitement")
    assert "11. Transferts hors de l'Union européenne" in headings
    tables = document.getElementsByType(Table)
    assert len(tables) == sum(1 for s in processing.generate()["sections"] if s["columns"])
    text = teletype.extractText(document.text)
    assert "73-2025-VP-0042" in text and "GARE-02" in text


def test_the_current_record_downloads_as_a_draft(register, dpo, signed_in):
    response = signed_in(dpo).get("/conformite/registre-des-traitements/?format=odt")
    assert response.status_code == 200
    assert "registre-des-traitements-projet.odt" in response["Content-Disposition"]
    assert signed_in(dpo).get("/conformite/registre-des-traitements/?format=doc").status_code == (
        404
    )


def test_the_audit_pack_holds_the_published_record_and_its_versions(register, dpo, tmp_path):
    version = processing.processing_record_publish(actor=dpo, note="v1")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2030, 1, 1, tzinfo=UTC)
    name, data = pack.build(start=start, end=end, actor=dpo)
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = name.removesuffix(".zip")
    assert archive.read(f"{root}/registre-des-traitements-v1.pdf") == bytes(version.pdf)
    # Current: no draft beside it.
    assert f"{root}/registre-des-traitements-projet.pdf" not in archive.namelist()
    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    kinds = {f["path"]: f["kind"] for f in manifest["files"]}
    assert kinds["registre-des-traitements-v1.pdf"] == "processing_record"
    assert manifest["counts"]["registre-traitements"] == 1
    rows = archive.read(f"{root}/registres/registre-traitements.csv").decode("utf-8-sig")
    assert version.content_sha256 in rows
    location = tmp_path / name
    location.write_bytes(data)
    assert pack.verify(location) == []

    # The register changed since: the record as it now stands is joined, and said to differ.
    CameraFactory(code="PARC-07", authorization=register, retention_days=14)
    assert "DIFFÉRENTE" in pack._processing_record_intro()
    name, data = pack.build(start=start, end=end, actor=dpo)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    root = name.removesuffix(".zip")
    assert f"{root}/registre-des-traitements-projet.pdf" in names


def test_record_pages_are_the_dpos_alone(register, dpo):
    version = processing.processing_record_publish(actor=dpo)
    check_matrix(url="/conformite/registre-des-traitements/", allowed=DPO)
    check_matrix(url="/conformite/registre-des-traitements/?format=pdf", allowed=DPO)
    check_matrix(
        url="/conformite/registre-des-traitements/publier/",
        method="post",
        data={},
        allowed=DPO,
        ok=(302,),
    )
    check_matrix(url="/conformite/registre-des-traitements/versions/1/pdf/", allowed=DPO)
    check_matrix(url="/conformite/registre-des-traitements/versions/1/odt/", allowed=DPO)
    check_matrix(url="/api/processing-record-versions/", allowed=DPO, api=True)
    check_matrix(url=f"/api/processing-record-versions/{version.pk}/", allowed=DPO, api=True)


def test_the_api_lists_versions_with_utc_times(register, dpo, signed_in):
    version = processing.processing_record_publish(actor=dpo, note="v1")
    body = signed_in(dpo).get("/api/processing-record-versions/").json()
    results = body["results"] if isinstance(body, dict) else body
    assert results[0]["number"] == 1
    assert results[0]["content_sha256"] == version.content_sha256
    assert results[0]["published_at"].endswith("Z")
    assert "pdf" not in results[0]
