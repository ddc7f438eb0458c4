"""After an error the officer's scan stays attached (held encrypted for the form's session)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from csu.lib.times import paris
from evidence import attachments
from evidence.models import Requisition
from evidence.views import PENDING_SCAN
from tests.evidence.conftest import PDF, pdf_upload

pytestmark = pytest.mark.django_db


def _form(camera_code: str, **extra) -> dict:
    end = paris(timezone.now() - timedelta(minutes=5))
    data = {
        "procedure_number": "2026/000777",
        "legal_frame": "60-1",
        "facts": "Vol avec violence place du Palais.",
        "justification": "Identifier le véhicule des auteurs.",
        "w-TOTAL_FORMS": "1",
        "w-INITIAL_FORMS": "0",
        "w-0-camera": camera_code,
        "w-0-starts_at": (end - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"),
        "w-0-ends_at": end.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    data.update(extra)
    return data


def test_the_scan_is_kept_after_an_error_and_used_at_the_next_submission(opj, camera, signed_in):
    officer = signed_in(opj)
    response = officer.post(
        "/requisitions/nouvelle/",
        _form(camera.code, justification="", attachment=pdf_upload("scan-signe.pdf")),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Réquisition numérisée conservée : scan-signe.pdf" in page
    pending = officer.session[PENDING_SCAN]
    # Held encrypted at rest: the stored object is not the clear PDF.
    with default_storage.open(pending["path"], "rb") as handle:
        assert PDF not in handle.read()
    assert not Requisition.objects.exists()
    # The second submission sends no file: the kept scan is used, then dropped.
    response = officer.post("/requisitions/nouvelle/", _form(camera.code))
    assert response.status_code == 302, response.content.decode()[:2000]
    requisition = Requisition.objects.get()
    assert requisition.attachment_name == "scan-signe.pdf"
    stored = attachments.read(
        requisition.attachment_path, requisition.attachment_key_id, requisition.attachment_key
    )
    assert stored == PDF
    assert PENDING_SCAN not in officer.session
    assert not default_storage.exists(pending["path"])


def test_without_a_kept_scan_the_attachment_is_still_required(opj, camera, signed_in):
    response = signed_in(opj).post("/requisitions/nouvelle/", _form(camera.code))
    assert response.status_code == 200
    assert "Réquisition numérisée conservée" not in response.content.decode()
    assert not Requisition.objects.exists()


def test_a_refused_file_is_not_kept(opj, camera, signed_in):
    officer = signed_in(opj)
    officer.post(
        "/requisitions/nouvelle/",
        _form(camera.code, attachment=pdf_upload("x.pdf", b"MZ\x90\x00not a pdf")),
    )
    assert PENDING_SCAN not in officer.session
