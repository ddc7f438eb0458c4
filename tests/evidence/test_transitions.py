"""The requisition's moves come from one table, and the services make no other."""

from __future__ import annotations

import pytest

from evidence import services
from evidence.models import FINISHED, GRANTED, PENDING, TRANSITIONS, Status, moves_to
from tests.evidence.factories import RequisitionFactory

pytestmark = pytest.mark.django_db


def test_the_table_names_every_status_and_agrees_with_the_status_groups():
    assert set(TRANSITIONS) == set(Status)
    assert all(targets <= set(Status) for targets in TRANSITIONS.values())
    assert {status for status, targets in TRANSITIONS.items() if not targets} == FINISHED
    assert moves_to(Status.CANCELLED) == PENDING
    # Undecided requisitions are escalated, never expired: EXPIRED stays for past files only.
    assert moves_to(Status.EXPIRED) == frozenset()
    assert moves_to(Status.EXPORTING) == GRANTED
    # A failed export returns to the decision; so does a ready package nobody downloaded,
    # once it is destroyed.
    assert moves_to(Status.APPROVED) == PENDING | {Status.EXPORTING, Status.READY}
    assert moves_to(Status.SUBMITTED) == frozenset()


def test_a_move_the_table_does_not_allow_is_refused_and_writes_nothing(opj):
    requisition = RequisitionFactory(actor=opj)
    with pytest.raises(ValueError, match="cannot move from"):
        services._move(requisition, from_=[Status.SUBMITTED], to=Status.READY, actor=opj)
    requisition.refresh_from_db()
    assert requisition.status == Status.SUBMITTED


def test_a_move_goes_only_from_the_statuses_the_table_allows(opj):
    requisition = RequisitionFactory(actor=opj)
    assert not services._move(requisition, to=Status.READY, actor=opj)  # not exporting
    assert requisition.status == Status.SUBMITTED
    assert services._move(requisition, to=Status.UNDER_REVIEW, actor=opj)
    assert requisition.status == Status.UNDER_REVIEW
