"""The decision as the magistrate decided it: on the page, in the manifest, on the documents.

Only real decisions enter the history; a form error stays on the form with what was chosen.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from evidence import handover, manifest, services
from evidence.models import Decision, Requisition, Status, Window
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import (
    AFTER,
    BEFORE,
    FIRST_0230,
    PARIS_TEXT,
    SECOND_0230,
    checked,
    night_requisition,
    pdf_text,
)

pytestmark = pytest.mark.django_db

REASON = "La seconde période est postérieure aux faits."


@pytest.fixture
def cameras():
    return [
        CameraFactory(code="CAM-DST1", name="Place Saint-Léger"),
        CameraFactory(code="CAM-DST2", name="Rue de Boigne"),
    ]


@pytest.fixture
def requisition(opj, cameras):
    return night_requisition(opj, cameras)


def _history(requisition: Requisition) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(requisition.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def _partly(requisition, magistrate):
    first, _second = requisition.windows.order_by("starts_at")
    services.requisition_decide(
        requisition=requisition,
        outcome="approve_part",
        window_ids=[first.pk],
        reason=REASON,
        actor=magistrate,
    )
    requisition.refresh_from_db()
    return requisition


def test_the_manifest_states_the_partial_approval_not_the_export_status(
    requisition, magistrate, supervisor
):
    _partly(requisition, magistrate)
    # The export is under way: the status says so, the decision must not.
    Requisition.objects.filter(pk=requisition.pk).update(status=Status.EXPORTING)
    requisition.refresh_from_db()
    from evidence.models import Export

    export = Export.objects.create(requisition=requisition, prepared_by=supervisor)
    body = manifest.render(
        export=export, files=[], skipped=[], prepared_at=AFTER, signer=manifest.signer()
    )
    decision = json.loads(body)["decision"]
    assert decision["outcome"] == "partly_approved"
    assert decision["status"] == "Autorisée en partie"
    assert decision["reason"] == REASON
    assert decision["magistrate"]["username"] == magistrate.username
    by_id = {w["id"]: w for w in decision["windows"]}
    first, second = requisition.windows.order_by("starts_at")
    assert by_id[first.pk]["decision"] == "approved"
    assert by_id[first.pk]["approved_start"]["utc"] == "2025-10-25T22:10:00.000Z"
    assert by_id[second.pk]["decision"] == "refused"
    assert by_id[second.pk]["refusal_reason"] == REASON


def test_the_preparation_sheet_names_both_windows_and_the_reason(
    requisition, magistrate, supervisor
):
    _partly(requisition, magistrate)
    Requisition.objects.filter(pk=requisition.pk).update(status=Status.EXPORTING)
    requisition.refresh_from_db()
    from evidence.models import Export

    export = Export.objects.create(requisition=requisition, prepared_by=supervisor)
    text = pdf_text(
        handover.fiche_de_preparation(
            export=export, clips=[], prepared_at=AFTER, fingerprint="f" * 64
        )
    )
    flat = " ".join(text.split())
    assert "Extraction en préparation" not in flat
    assert "Autorisée en partie" in flat
    assert "Périodes autorisées" in flat and "Périodes refusées" in flat
    assert f"du {PARIS_TEXT[BEFORE]} au {PARIS_TEXT[FIRST_0230]}" in flat
    assert f"du {PARIS_TEXT[SECOND_0230]} au {PARIS_TEXT[AFTER]}" in flat
    assert REASON in flat


def test_the_requisition_page_states_the_decision_after_the_export(
    requisition, magistrate, opj, signed_in
):
    _partly(requisition, magistrate)
    Requisition.objects.filter(pk=requisition.pk).update(status=Status.READY)
    page = signed_in(opj).get(f"/requisitions/{requisition.pk}/").content.decode()
    decision = page[page.index('id="decision"') :]
    decision = decision[: decision.index("</div>")]
    assert "Autorisée en partie" in decision
    assert PARIS_TEXT[SECOND_0230] in decision  # the refused window
    assert REASON in decision


def test_a_decision_form_error_writes_no_history_and_keeps_the_choice(
    requisition, magistrate, signed_in
):
    before = _history(requisition)
    first, _second = requisition.windows.order_by("starts_at")
    response = signed_in(magistrate).post(
        f"/requisitions/{requisition.pk}/decision/",
        {"outcome": "approve_part", "windows": [str(first.pk)], "reason": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Motivez le refus des périodes non cochées." in page
    assert checked(page, "outcome", "approve_part")
    assert checked(page, "windows", str(first.pk))
    assert not checked(page, "windows", str(_second.pk))
    assert _history(requisition) == before
    assert "requisition.decision_refused" not in _history(requisition)
    requisition.refresh_from_db()
    assert requisition.status == Status.SUBMITTED and requisition.decision == ""


def test_a_rejection_without_reason_keeps_the_choice_and_records_nothing(
    requisition, magistrate, signed_in
):
    before = _history(requisition)
    response = signed_in(magistrate).post(
        f"/requisitions/{requisition.pk}/decision/", {"outcome": "reject", "reason": ""}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Motivez le refus." in page
    assert checked(page, "outcome", "reject")
    assert not checked(page, "outcome", "approve_all")
    assert _history(requisition) == before


def test_the_service_refuses_bad_decisions_without_a_trace(requisition, magistrate):
    before = _history(requisition)
    with pytest.raises(ValidationError) as caught:
        services.requisition_decide(
            requisition=requisition, outcome="approve_part", reason="x", actor=magistrate
        )
    assert "windows" in caught.value.message_dict
    assert _history(requisition) == before


def test_a_window_can_be_approved_shortened(requisition, magistrate, signed_in):
    first, second = requisition.windows.order_by("starts_at")
    response = signed_in(magistrate).post(
        f"/requisitions/{requisition.pk}/decision/",
        {
            "outcome": "approve_all",
            "reason": "Limitée à l'heure des faits.",
            f"start_{first.pk}": "2025-10-26T01:00:00",
            f"end_{first.pk}": "2025-10-26T02:15:00+02:00",
            f"start_{second.pk}": "2025-10-26T02:30:00+01:00",
            f"end_{second.pk}": "2025-10-26T04:45:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.decision == second.decision == Window.Decision.APPROVED
    assert first.granted_starts_at == BEFORE + timedelta(minutes=50)
    assert first.granted_ends_at == FIRST_0230 - timedelta(minutes=15)
    assert first.is_shortened and not second.is_shortened
    requisition.refresh_from_db()
    # Part of the footage asked for is not granted: the decision is a partial approval.
    assert requisition.decision == Decision.PARTLY_APPROVED
    assert requisition.status == "partly_approved"


def test_shortening_a_window_needs_a_reason(requisition, magistrate):
    first, _second = requisition.windows.order_by("starts_at")
    with pytest.raises(ValidationError) as caught:
        services.requisition_decide(
            requisition=requisition,
            outcome="approve_all",
            reason="",
            shortened={first.pk: (BEFORE + timedelta(minutes=5), FIRST_0230)},
            actor=magistrate,
        )
    assert caught.value.message_dict["reason"] == ["Motivez la réduction des périodes raccourcies."]


def test_an_ambiguous_time_without_offset_is_refused_on_the_form(
    requisition, magistrate, signed_in
):
    first, _second = requisition.windows.order_by("starts_at")
    response = signed_in(magistrate).post(
        f"/requisitions/{requisition.pk}/decision/",
        {"outcome": "approve_all", f"end_{first.pk}": "2025-10-26T02:15:00"},
    )
    assert response.status_code == 400
    assert "existe deux fois" in response.content.decode()
    first.refresh_from_db()
    assert first.decision == Window.Decision.PENDING


def test_a_shortened_window_outside_the_request_is_refused(requisition, magistrate):
    first, _second = requisition.windows.order_by("starts_at")
    with pytest.raises(ValidationError, match="doit rester entre"):
        services.requisition_decide(
            requisition=requisition,
            outcome="approve_all",
            reason="",
            shortened={first.pk: (BEFORE - timedelta(hours=1), FIRST_0230)},
            actor=magistrate,
        )
    first.refresh_from_db()
    assert first.approved_starts_at is None and first.decision == Window.Decision.PENDING


def test_opening_the_page_is_not_examining(requisition, magistrate, signed_in):
    judge = signed_in(magistrate)
    assert judge.get(f"/requisitions/{requisition.pk}/").status_code == 200
    assert judge.get(f"/api/requisitions/{requisition.pk}/").status_code == 200
    requisition.refresh_from_db()
    assert requisition.status == Status.SUBMITTED
    assert "requisition.under_review" not in _history(requisition)
    response = judge.post(f"/requisitions/{requisition.pk}/examen/")
    assert response.status_code == 302
    requisition.refresh_from_db()
    assert requisition.status == Status.UNDER_REVIEW
    assert _history(requisition).count("requisition.under_review") == 1


def test_an_old_refused_decision_row_is_not_shown_in_the_history(
    requisition, magistrate, opj, signed_in
):
    from audit.services import record
    from evidence import selectors

    record(
        "requisition.decision_refused",
        actor=magistrate,
        target=requisition,
        reason="Choisissez les périodes autorisées.",
    )
    assert "requisition.decision_refused" not in [
        s["action"] for s in selectors.timeline(requisition)
    ]
    page = signed_in(opj).get(f"/requisitions/{requisition.pk}/").content.decode()
    assert "Décision refusée" not in page
