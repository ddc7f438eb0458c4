"""Pruning old audit events up to a signed checkpoint keeps the chain verifiable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from audit import integrity, retention
from audit.models import AuditEvent, AuditPrune
from audit.services import record
from tests.append_only import suspended

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_history(clock, supervisor):
    now = timezone.now()
    with clock(now - timedelta(days=500)):
        accesses = [record("recording.playback", actor=supervisor, reason="r") for _ in range(3)]
        extraction = record("export.started", actor=supervisor)
    with clock(now - timedelta(days=400)):
        checkpoint = integrity.sign_chain_head()
    with clock(now - timedelta(days=10)):
        recent = record("recording.playback", actor=supervisor, reason="récent")
    return {
        "accesses": accesses,
        "extraction": extraction,
        "checkpoint": checkpoint,
        "recent": recent,
    }


def test_pruning_deletes_expired_events_and_keeps_the_chain_verifiable(old_history):
    pruned = retention.prune()
    assert pruned is not None and pruned.deleted_count == 3
    assert pruned.horizon_seq == old_history["checkpoint"].seq and not pruned.open
    remaining = set(AuditEvent.objects.values_list("seq", flat=True))
    assert not remaining & {e.seq for e in old_history["accesses"]}
    assert old_history["extraction"].seq in remaining  # three years for extractions
    assert old_history["checkpoint"].seq in remaining and old_history["recent"].seq in remaining
    result = integrity.verify_chain()
    assert result.ok, result.problems
    assert retention.prune() is None  # nothing more to do


def test_triggers_still_refuse_a_plain_delete_after_pruning(old_history):
    retention.prune()
    for statement, params in (
        ("DELETE FROM audit_auditevent", []),
        ("DELETE FROM audit_auditevent WHERE seq = %s", [old_history["extraction"].seq]),
        ("DELETE FROM audit_auditprune", []),
        ("UPDATE audit_auditprune SET open = TRUE", []),
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, params)


def test_removing_a_kept_event_below_the_horizon_is_detected(old_history):
    retention.prune()
    with suspended(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE seq = %s", [old_history["extraction"].seq]
        )
    result = integrity.verify_chain()
    assert not result.ok and "below the pruning horizon" in result.problems[0]


def test_removing_the_kept_checkpoint_event_is_detected(old_history):
    retention.prune()
    with suspended(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE seq = %s", [AuditPrune.objects.get().horizon_seq]
        )
    assert not integrity.verify_chain().ok


def test_no_pruning_without_a_checkpoint_old_enough(clock, supervisor):
    with clock(timezone.now() - timedelta(days=500)):
        record("recording.playback", actor=supervisor, reason="r")
    integrity.sign_chain_head()  # signed today: too recent to prune up to
    assert retention.prune() is None
    assert integrity.verify_chain().ok
