"""Every page and endpoint of the requisition workflow through the permission matrix."""

from __future__ import annotations

import pytest
from django.utils import timezone

from evidence.models import Requisition
from tests.evidence.factories import RequisitionFactory
from tests.factories import ServiceFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

READERS = ["opj", "magistrate", "supervisor"]
#: The matrix's OPJ belongs to another service than the requisition's: outside its scope, the
#: requisition is not found (404) where the role itself would be let in; every other refused
#: role gets 403.
OUTSIDE_SCOPE = {"opj": 404}


def _requisition(status: str = "submitted") -> Requisition:
    officer = UserFactory(role="opj", service=ServiceFactory())
    requisition = RequisitionFactory(actor=officer)
    if status != "submitted":
        Requisition.objects.filter(pk=requisition.pk).update(
            status=status, decided_at=timezone.now()
        )
    return requisition


def test_requisition_list_page():
    check_matrix(url="/requisitions/", allowed=READERS)


def test_requisition_create_page():
    check_matrix(url="/requisitions/nouvelle/", allowed=["opj"])


def test_registers_page():
    check_matrix(url="/requisitions/registres/", allowed=["supervisor", "dpo"])


def test_requisition_detail_page_is_scoped():
    requisition = _requisition("approved")
    # An OPJ of another service gets 404 (outside scope); magistrates and supervisors see it.
    check_matrix(
        url=f"/requisitions/{requisition.pk}/",
        allowed=["magistrate", "supervisor"],
        refused=OUTSIDE_SCOPE,
    )


def test_requisition_api_list_and_create():
    check_matrix(url="/api/requisitions/", allowed=READERS, api=True)
    check_matrix(
        url="/api/requisitions/", allowed=["opj"], api=True, method="post", data={}, ok=(400,)
    )


def test_requisition_api_detail_is_scoped():
    requisition = _requisition("approved")
    check_matrix(
        url=f"/api/requisitions/{requisition.pk}/",
        allowed=["magistrate", "supervisor"],
        api=True,
        refused=OUTSIDE_SCOPE,
    )


def test_decision_endpoint():
    requisition = _requisition()
    check_matrix(
        url=f"/api/requisitions/{requisition.pk}/decision/",
        allowed=["magistrate"],
        api=True,
        method="post",
        data={"outcome": "unknown"},
        ok=(400,),
    )


@pytest.mark.parametrize("name", ["export", "release", "reissue"])
def test_supervisor_endpoints(name):
    requisition = _requisition("rejected")
    check_matrix(
        url=f"/api/requisitions/{requisition.pk}/{name}/",
        allowed=["supervisor"],
        api=True,
        method="post",
        data={},
        ok=(400,),
    )


def test_cancel_endpoint_is_for_the_officers_service_only():
    requisition = _requisition()
    check_matrix(
        url=f"/api/requisitions/{requisition.pk}/cancel/",
        allowed=[],
        api=True,
        method="post",
        data={},
        refused=OUTSIDE_SCOPE,
    )


@pytest.mark.parametrize("path", ["registers/extractions", "registers/handovers"])
def test_register_endpoints(path):
    check_matrix(url=f"/api/{path}/", allowed=["supervisor", "dpo"], api=True)


def test_download_endpoint_and_page_are_posts_for_the_officers_service():
    requisition = _requisition("ready")
    # The matrix's OPJ belongs to another service: outside scope, 404.
    check_matrix(
        url=f"/api/requisitions/{requisition.pk}/download/",
        allowed=[],
        api=True,
        method="post",
        data={},
        refused=OUTSIDE_SCOPE,
    )
    check_matrix(
        url=f"/requisitions/{requisition.pk}/telechargement/",
        allowed=[],
        method="post",
        data={},
        refused=OUTSIDE_SCOPE,
    )


def test_handover_record_page_is_scoped():
    requisition = _requisition("handed_over")
    check_matrix(
        url=f"/requisitions/{requisition.pk}/remise/999999/proces-verbal/",
        allowed=["magistrate", "supervisor"],
        ok=(404,),
        refused=OUTSIDE_SCOPE,
    )
    check_matrix(
        url=f"/requisitions/{requisition.pk}/remise/999999/proces-verbal.sig",
        allowed=["magistrate", "supervisor"],
        ok=(404,),
        refused=OUTSIDE_SCOPE,
    )


def test_review_action_is_for_the_magistrate():
    requisition = _requisition()
    check_matrix(
        url=f"/requisitions/{requisition.pk}/examen/",
        allowed=["magistrate"],
        method="post",
        data={},
        ok=(302,),
    )
    check_matrix(
        url=f"/api/requisitions/{requisition.pk}/review/",
        allowed=["magistrate"],
        api=True,
        method="post",
        data={},
    )


def test_attachment_page_is_for_the_magistrate_and_the_officers_service():
    requisition = _requisition()
    # The matrix's OPJ belongs to another service: outside scope, 404.
    check_matrix(
        url=f"/requisitions/{requisition.pk}/piece/",
        allowed=["magistrate"],
        refused=OUTSIDE_SCOPE,
    )


@pytest.mark.parametrize(
    ("action", "role", "status"),
    [
        ("decision", "magistrate", "rejected"),
        ("extraction", "supervisor", "rejected"),
        ("liberation", "supervisor", "rejected"),
        ("nouveau-lien", "supervisor", "rejected"),
    ],
)
def test_workflow_page_actions(action, role, status):
    """Each action button posts to its page: allowed role → back to the file with a message."""
    requisition = _requisition(status)
    check_matrix(
        url=f"/requisitions/{requisition.pk}/{action}/",
        method="post",
        data={},
        allowed=[role],
        ok=(302,),
    )


def test_cancel_page_action_is_for_the_officers_service_only():
    requisition = _requisition()
    check_matrix(
        url=f"/requisitions/{requisition.pk}/annulation/",
        method="post",
        data={"reason": "erreur de saisie"},
        allowed=[],
        refused=OUTSIDE_SCOPE,
    )


@pytest.mark.parametrize("path", ["registers/extractions", "registers/handovers"])
def test_register_detail_endpoints(path):
    check_matrix(url=f"/api/{path}/999999/", allowed=["supervisor", "dpo"], api=True, ok=(404,))


def test_clip_preview_is_for_the_supervisor():
    requisition = _requisition("approved")
    check_matrix(
        url=f"/requisitions/{requisition.pk}/extraction/sequences/1/",
        allowed=["supervisor"],
        ok=(404,),
    )


def test_the_matrix_tells_a_refusal_from_a_requisition_not_found():
    """One status per refused role: the OPJ's 404 (outside its scope) is no 403."""
    requisition = _requisition("approved")
    url = f"/requisitions/{requisition.pk}/"
    with pytest.raises(AssertionError, match="role opj: got 404, expected one of \\[403\\]"):
        check_matrix(url=url, allowed=["magistrate", "supervisor"])
    with pytest.raises(AssertionError, match="role dpo: got 403, expected one of \\[404\\]"):
        check_matrix(url=url, allowed=["magistrate", "supervisor"], refused=404)
    with pytest.raises(ValueError, match="unknown roles"):
        check_matrix(url=url, allowed=["magistrate", "supervisor"], refused={"opg": 404})
