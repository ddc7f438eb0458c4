"""The procès-verbal de remise is drawn up and signed at the download, with the city's evidence
key; the 77-1-1 frame carries the prosecutor's authorization reference, or a warning."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.models import AuditEvent
from compliance import registers
from evidence import handover, manifest, services, verifier
from evidence.models import DownloadLink, Export, LegalFrame, Requisition, Status
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import intake_payload
from tests.evidence.documents import AFTER, pdf_text, released_export
from tests.evidence.factories import RequisitionFactory

pytestmark = pytest.mark.django_db


def _flat(data: bytes) -> str:
    return " ".join(pdf_text(data).split()).replace("\u00a0", " ")


def _downloaded(opj, magistrate, supervisor, signed_in, **requisition):
    camera = CameraFactory()
    submitted = RequisitionFactory(actor=opj, camera=camera, **requisition)
    services.requisition_decide(
        requisition=submitted, outcome="approve_all", reason="", actor=magistrate
    )
    export = released_export(Requisition.objects.get(pk=submitted.pk), supervisor)
    response = signed_in(opj).post(f"/requisitions/{submitted.pk}/telechargement/")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    link = DownloadLink.objects.get(export=export, used_at__isnull=False)
    return Requisition.objects.get(pk=submitted.pk), export, link


def test_the_record_made_at_download_states_every_element_of_the_handover(
    opj, magistrate, supervisor, signed_in
):
    _requisition, export, link = _downloaded(
        opj, magistrate, supervisor, signed_in, procedure_number="2026/PV-0042"
    )
    text = _flat(bytes(link.handover_record))
    assert f"Date et heure de la remise : {handover.when(link.used_at)}" in text
    assert opj.get_full_name() in text and "Officier de police judiciaire" in text
    assert f"Service : {opj.service}" in text
    assert "2026/PV-0042" in text
    assert export.files[0]["sha256"] in text and export.package_sha256 in text
    assert "Téléchargement sécurisé" in text
    assert export.key_fingerprint in text
    # How to verify it, with the key that signed it.
    assert f"{handover.record_name(link)}.sig" in text
    assert manifest.signer().fingerprint in text
    assert "verify.py" in text and "--document" in text


def test_the_record_is_signed_with_the_city_key_and_a_changed_byte_fails(
    opj, magistrate, supervisor, signed_in, tmp_path
):
    requisition, _export, link = _downloaded(opj, magistrate, supervisor, signed_in)
    record = bytes(link.handover_record)
    officer = signed_in(opj)
    response = officer.get(f"/requisitions/{requisition.pk}/remise/{link.pk}/proces-verbal.sig")
    assert response.status_code == 200
    assert handover.record_name(link) + ".sig" in response["Content-Disposition"]
    signature = response.content
    public_key = manifest.signer().key.public_key()
    public_key.verify(base64.b64decode(signature), record)  # raises when it does not verify
    assert isinstance(public_key, Ed25519PublicKey)
    # The page offers it next to the record.
    page = officer.get(f"/requisitions/{requisition.pk}/").content.decode()
    assert f"/remise/{link.pk}/proces-verbal.sig" in page

    # Offline, as the PV says: the verifier with the city's pinned fingerprint.
    name = handover.record_name(link)
    (tmp_path / name).write_bytes(record)
    (tmp_path / f"{name}.sig").write_bytes(signature)
    (tmp_path / "cle-publique.pem").write_bytes(manifest.signer().public_pem)
    fingerprint = manifest.signer().fingerprint
    result = verifier.check_document(
        tmp_path / name, public_key=tmp_path / "cle-publique.pem", fingerprints=[fingerprint]
    )
    assert result.failures == [] and result.pinned
    tampered = bytearray(record)
    index = record.index(b"/Producer") if b"/Producer" in record else len(record) // 2
    tampered[index + 2] ^= 0x01
    (tmp_path / name).write_bytes(bytes(tampered))
    result = verifier.check_document(
        tmp_path / name, public_key=tmp_path / "cle-publique.pem", fingerprints=[fingerprint]
    )
    assert result.failures and "ÉCHEC signature" in result.failures[0]
    # A forger re-signing with his own key is refused by the pinned fingerprint.
    other = tmp_path / "autre.pem"
    other.write_bytes(manifest.Signer(manifest.Ed25519PrivateKey.generate()).public_pem)
    (tmp_path / name).write_bytes(record)
    result = verifier.check_document(tmp_path / name, public_key=other, fingerprints=[fingerprint])
    assert result.failures and "ÉCHEC clé" in result.failures[0]


def test_the_handover_register_carries_the_record_hash_and_its_signature_state(
    opj, magistrate, supervisor, signed_in
):
    requisition, _export, link = _downloaded(opj, magistrate, supervisor, signed_in)
    register = registers.REGISTERS["remises"]
    (row,) = register.rows(None, None)
    assert link.handover_record_sha256 == hashlib.sha256(link.handover_record).hexdigest()
    assert row[-2] == link.handover_record_sha256
    assert row[-1].startswith("vérifiée")
    event = AuditEvent.objects.get(action="export.downloaded", target_id=str(requisition.pk))
    assert event.details["handover_record_signature"] == link.handover_record_signature
    api = signed_in(supervisor).get("/api/registers/handovers/").json()
    entry = api["results"][0] if "results" in api else api[0]
    assert entry["handover_record_signature_state"].startswith("vérifiée")

    # A record altered in the database no longer matches its signature: the register says so.
    altered = bytes(link.handover_record).replace(b"%%EOF", b"%%EOF ")
    DownloadLink.objects.filter(pk=link.pk).update(handover_record=altered)
    (row,) = register.rows(None, None)
    assert row[-1] == "INVALIDE"
    page = signed_in(supervisor).get("/requisitions/registres/").content.decode()
    assert "INVALIDE" in page


def test_a_77_1_1_requisition_without_authorization_is_warned_everywhere(
    opj, magistrate, supervisor, signed_in
):
    requisition, export, link = _downloaded(
        opj, magistrate, supervisor, signed_in, legal_frame=LegalFrame.PRELIMINAIRE
    )
    assert requisition.prosecutor_authorization == ""
    for person in (opj, magistrate, supervisor):
        page = signed_in(person).get(f"/requisitions/{requisition.pk}/").content.decode()
        assert 'id="authorization-missing"' in page, person.role
    assert "sans référence de l'autorisation du procureur" in _flat(bytes(link.handover_record))
    sheet = handover.fiche_de_preparation(
        export=Export.objects.get(pk=export.pk), clips=[], prepared_at=AFTER, fingerprint="f" * 64
    )
    assert "sans référence de l'autorisation du procureur" in _flat(sheet)
    api = signed_in(opj).get(f"/api/requisitions/{requisition.pk}/").json()
    assert api["prosecutor_authorization_missing"] is True


def test_with_its_reference_the_record_states_the_prosecutor_authorization(
    opj, magistrate, supervisor, signed_in
):
    requisition, _export, link = _downloaded(
        opj,
        magistrate,
        supervisor,
        signed_in,
        legal_frame=LegalFrame.PRELIMINAIRE,
        prosecutor_authorization="Parquet de Chambéry n° 26/1234, 12/03/2026",
    )
    text = _flat(bytes(link.handover_record))
    assert "Parquet de Chambéry n° 26/1234, 12/03/2026" in text
    assert "sans référence" not in text
    page = signed_in(opj).get(f"/requisitions/{requisition.pk}/").content.decode()
    assert 'id="authorization-missing"' not in page
    assert "Parquet de Chambéry n° 26/1234" in page


def test_a_flagrance_requisition_shows_no_authorization_warning(opj, signed_in):
    requisition = RequisitionFactory(actor=opj)
    page = signed_in(opj).get(f"/requisitions/{requisition.pk}/").content.decode()
    assert 'id="authorization-missing"' not in page


def test_the_officer_gives_the_reference_on_the_form_and_the_api(opj, signed_in, camera):
    officer = signed_in(opj)
    response = officer.post(
        "/api/requisitions/",
        intake_payload(camera.code, legal_frame="77-1-1", prosecutor_authorization="PR 26/77-001"),
    )
    assert response.status_code == 201, response.content
    assert response.json()["prosecutor_authorization"] == "PR 26/77-001"
    assert response.json()["prosecutor_authorization_missing"] is False
    # Not a preliminary inquiry: the reference is refused with a precise message, nothing kept.
    refused = officer.post(
        "/api/requisitions/",
        intake_payload(
            camera.code,
            procedure_number="2026/000999",
            legal_frame="60-1",
            prosecutor_authorization="PR 26/77-002",
        ),
    )
    assert refused.status_code == 400
    assert "enquête préliminaire" in str(refused.json()["prosecutor_authorization"])
    assert not Requisition.objects.filter(procedure_number="2026/000999").exists()
    form = officer.get("/requisitions/nouvelle/").content.decode()
    assert 'name="prosecutor_authorization"' in form


def test_the_magistrate_may_record_the_missing_reference_with_his_decision(
    opj, magistrate, signed_in
):
    requisition = RequisitionFactory(actor=opj, legal_frame=LegalFrame.PRELIMINAIRE)
    client = signed_in(magistrate)
    page = client.get(f"/requisitions/{requisition.pk}/").content.decode()
    assert 'name="prosecutor_authorization"' in page
    response = client.post(
        f"/requisitions/{requisition.pk}/decision/",
        {"outcome": "approve_all", "reason": "", "prosecutor_authorization": "Soit-transmis 26/9"},
    )
    assert response.status_code == 302
    requisition.refresh_from_db()
    assert requisition.status == Status.APPROVED
    assert requisition.prosecutor_authorization == "Soit-transmis 26/9"
    event = AuditEvent.objects.get(action="requisition.approved", target_id=str(requisition.pk))
    assert event.details["prosecutor_authorization"] == {"from": "", "to": "Soit-transmis 26/9"}


def test_the_manifest_states_the_prosecutor_authorization(opj, supervisor):
    missing = RequisitionFactory(actor=opj, legal_frame=LegalFrame.PRELIMINAIRE)
    given = RequisitionFactory(
        actor=opj, legal_frame=LegalFrame.PRELIMINAIRE, prosecutor_authorization="PR 26/5"
    )
    flagrance = RequisitionFactory(actor=opj)
    stated = {}
    for requisition in (missing, given, flagrance):
        export = Export.objects.create(requisition=requisition, prepared_by=supervisor)
        body = manifest.render(
            export=export, files=[], skipped=[], prepared_at=AFTER, signer=manifest.signer()
        )
        stated[requisition.pk] = json.loads(body)["requisition"]
    assert stated[missing.pk]["prosecutor_authorization"] == ""
    assert stated[missing.pk]["prosecutor_authorization_missing"] is True
    assert stated[given.pk]["prosecutor_authorization"] == "PR 26/5"
    assert stated[given.pk]["prosecutor_authorization_missing"] is False
    assert stated[flagrance.pk]["prosecutor_authorization"] is None


def test_the_magistrate_records_the_reference_through_the_api_and_it_is_refused_elsewhere(
    opj, magistrate, signed_in
):
    client = signed_in(magistrate)
    preliminary = RequisitionFactory(actor=opj, legal_frame=LegalFrame.PRELIMINAIRE)
    response = client.post(
        f"/api/requisitions/{preliminary.pk}/decision/",
        {"outcome": "approve_all", "prosecutor_authorization": "PR 26/77-9"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["prosecutor_authorization"] == "PR 26/77-9"
    flagrance = RequisitionFactory(actor=opj)
    refused = client.post(
        f"/api/requisitions/{flagrance.pk}/decision/",
        {"outcome": "approve_all", "prosecutor_authorization": "PR 26/77-10"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "enquête préliminaire" in str(refused.json())
    flagrance.refresh_from_db()
    assert flagrance.is_pending and flagrance.prosecutor_authorization == ""
