from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit import actions, integrity
from audit.models import AuditEvent, ChainCheckpoint
from audit.services import record
from tests.append_only import suspended

pytestmark = pytest.mark.django_db


def _three_events(user):
    return [
        record("auth.login", actor=user, target=user, details={"second_factor": "totp"}),
        record("account.updated", actor=user, target=user, reason="correction du nom"),
        record("auth.logout", actor=user, target=user),
    ]


def test_events_are_numbered_and_linked(operator):
    first, second, third = _three_events(operator)
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert integrity.verify_chain().ok


def test_actor_is_copied_so_the_event_outlives_the_account(operator):
    event = record("auth.login", actor=operator)
    assert event.actor_id == operator.pk
    assert event.actor_name.startswith("operateur")
    assert event.actor_role == "operator"


def test_unregistered_action_is_refused(operator):
    with pytest.raises(actions.UnknownAction):
        record("camera.teleported", actor=operator)
    assert not AuditEvent.objects.exists()


def test_event_rolls_back_with_the_action(operator):
    with pytest.raises(RuntimeError), transaction.atomic():
        record("auth.login", actor=operator)
        raise RuntimeError("the action failed")
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_auditevent SET reason = 'x'", "DELETE FROM audit_auditevent"]
)
def test_database_refuses_to_change_or_delete_events(operator, statement):
    _three_events(operator)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 3


def test_orm_update_is_refused_too(operator):
    event = record("auth.login", actor=operator)
    event.reason = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()


def test_verify_names_the_altered_event_after_a_superuser_bypass(operator):
    events = _three_events(operator)
    with suspended(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = %s WHERE seq = %s", ["autre motif", events[1].seq]
        )
    with pytest.raises(CommandError, match=rf"#{events[1].seq}\b.*altered"):
        call_command("verify_audit")


def test_verify_detects_a_deleted_event_in_the_middle(operator):
    events = _three_events(operator)
    with suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    result = integrity.verify_chain()
    assert not result.ok and result.first_broken_seq == events[1].seq


def test_signed_head_reveals_truncation(operator):
    _three_events(operator)
    checkpoint = integrity.sign_chain_head()
    assert integrity.verify_chain().ok
    with suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= %s", [checkpoint.seq - 1])
    result = integrity.verify_chain()
    assert not result.ok
    assert "truncated" in result.problems[0]


def test_forged_checkpoint_signature_is_detected(operator):
    _three_events(operator)
    checkpoint = integrity.sign_chain_head()
    with suspended():
        ChainCheckpoint.objects.filter(pk=checkpoint.pk).update(signature="00" * 64)
    result = integrity.verify_chain()
    assert not result.ok and "invalid signature" in result.problems[0]


def test_verify_command_succeeds_and_records_its_run(operator):
    _three_events(operator)
    call_command("verify_audit")
    assert AuditEvent.objects.filter(action="audit.chain_verified").count() == 1
