"""The officer downloads the released package himself, from his page, once; the procès-verbal
de remise is drawn up at that moment; he is told of each step on his home page and by e-mail."""

from __future__ import annotations

import hashlib
import html

import pytest
from django.core import mail

from audit.models import AuditEvent
from evidence import services
from evidence.models import DownloadLink, Requisition, Status
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import (
    PARIS_TEXT,
    SECOND_0230,
    night_requisition,
    pdf_text,
    released_export,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REASON = "La seconde période est postérieure aux faits."


@pytest.fixture
def cameras():
    return [CameraFactory(code="CAM-DST1"), CameraFactory(code="CAM-DST2")]


@pytest.fixture
def released(opj, magistrate, supervisor, cameras):
    requisition = night_requisition(opj, cameras)
    first, _second = requisition.windows.order_by("starts_at")
    services.requisition_decide(
        requisition=requisition,
        outcome="approve_part",
        window_ids=[first.pk],
        reason=REASON,
        actor=magistrate,
    )
    export = released_export(requisition, supervisor)
    requisition.refresh_from_db()
    return requisition, export


def test_the_officer_downloads_from_his_page_once(released, opj, signed_in):
    requisition, _export = released
    officer = signed_in(opj)
    page = officer.get(f"/requisitions/{requisition.pk}/").content.decode()
    assert "Télécharger l'extraction" in page
    response = officer.post(f"/requisitions/{requisition.pk}/telechargement/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    package = b"".join(response.streaming_content)
    assert hashlib.sha256(package).hexdigest() == response["X-Content-SHA256"]
    requisition.refresh_from_db()
    assert requisition.status == Status.HANDED_OVER
    again = officer.post(f"/requisitions/{requisition.pk}/telechargement/")
    assert again.status_code == 400
    assert "déjà été téléchargée" in again.content.decode()
    page = officer.get(f"/requisitions/{requisition.pk}/").content.decode()
    assert "Télécharger l'extraction" not in page
    assert "procès-verbal de remise (PDF)" in page


def test_the_handover_record_is_drawn_up_at_the_download(released, opj, signed_in, settings):
    settings.EVIDENCE_HANDOVER_PLACE = "CSU de Chambéry, 1 place de l'Hôtel de Ville"
    requisition, export = released
    officer = signed_in(opj)
    officer.post(f"/requisitions/{requisition.pk}/telechargement/")
    link = DownloadLink.objects.get(export=export, used_at__isnull=False)
    assert link.handover_record_sha256 == hashlib.sha256(link.handover_record).hexdigest()
    event = AuditEvent.objects.get(action="export.downloaded", target_id=str(requisition.pk))
    assert event.details["handover_record_sha256"] == link.handover_record_sha256
    response = officer.get(f"/requisitions/{requisition.pk}/remise/{link.pk}/proces-verbal/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(b"".join([response.content])).split())
    assert "Procès-verbal de remise" in text
    assert "CSU de Chambéry, 1 place de l'Hôtel de Ville" in text
    assert opj.get_full_name() in text or opj.username in text
    assert "Officier de police judiciaire" in text
    assert str(opj.service) in text
    assert requisition.procedure_number in text
    assert "Autorisée en partie" in text and REASON in text
    assert f"du {PARIS_TEXT[SECOND_0230]}" in text  # the refused window, in Paris time
    assert export.key_fingerprint in text
    assert export.files[0]["sha256"] in text
    assert "12 345 678" in text.replace("\u00a0", " ")
    assert "liaison chiffrée" in text  # the medium


def test_the_supervisor_no_longer_gets_a_link_to_copy(released, supervisor, signed_in, opj):
    requisition, _export = released
    response = signed_in(supervisor).post(
        f"/requisitions/{requisition.pk}/nouveau-lien/", follow=True
    )
    page = response.content.decode()
    assert "Nouveau téléchargement autorisé" in page
    assert "/telechargement/" not in page.replace(
        f"/requisitions/{requisition.pk}/telechargement/", ""
    )
    api = signed_in(supervisor).post(f"/api/requisitions/{requisition.pk}/reissue/")
    assert api.status_code == 201 and "url" not in api.json()


def test_the_api_download_is_a_post_once(released, opj, signed_in):
    requisition, _export = released
    officer = signed_in(opj)
    assert officer.get(f"/api/requisitions/{requisition.pk}/download/").status_code == 405
    response = officer.post(f"/api/requisitions/{requisition.pk}/download/")
    assert response.status_code == 200
    again = officer.post(f"/api/requisitions/{requisition.pk}/download/")
    assert again.status_code == 400 and "déjà été téléchargée" in again.json()["detail"]


def test_a_colleague_of_the_same_service_cannot_download(released, opj, signed_in):
    requisition, _export = released
    colleague = UserFactory(role="opj", service=opj.service)
    response = signed_in(colleague).post(f"/requisitions/{requisition.pk}/telechargement/")
    assert response.status_code == 403
    assert not DownloadLink.objects.filter(used_at__isnull=False).exists()


def test_the_officer_is_told_at_each_step_by_mail_and_on_his_home(
    opj, magistrate, supervisor, cameras, settings, signed_in, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_HOST = "smtp.mairie.example"
    opj.email = "opj@interieur.example"
    opj.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        requisition = night_requisition(opj, cameras)
    assert mail.outbox == []  # his own intake: nothing to tell him
    with django_capture_on_commit_callbacks(execute=True):
        services.requisition_open_review(requisition=requisition, actor=magistrate)
        services.requisition_decide(
            requisition=requisition, outcome="approve_all", reason="", actor=magistrate
        )
        released_export(Requisition.objects.get(pk=requisition.pk), supervisor)
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Réquisition {requisition.reference} : En cours d'examen",
        f"Réquisition {requisition.reference} : Autorisée",
        f"Réquisition {requisition.reference} : Téléchargement autorisé",
    ]
    assert all(m.to == ["opj@interieur.example"] for m in mail.outbox)
    assert all("(heure de Paris)" in m.body for m in mail.outbox)
    home = html.unescape(signed_in(opj).get("/accueil/").content.decode())
    news = home[home.index('id="requisition-news"') :]
    assert requisition.reference in news
    for label in ("Réquisition en cours d'examen", "Réquisition autorisée"):
        assert label in news


def test_no_mail_without_a_mail_server(opj, magistrate, cameras, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_HOST = ""
    opj.email = "opj@interieur.example"
    opj.save(update_fields=["email"])
    requisition = night_requisition(opj, cameras)
    services.requisition_open_review(requisition=requisition, actor=magistrate)
    assert mail.outbox == []
