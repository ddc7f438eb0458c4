"""Attacks on the audit trail by someone who reaches its database, or the files beside it.

Each test acts as the intruder would — forged pruning rows, checkpoints signed with his own key,
the newest events deleted or rewritten, and, on PostgreSQL, every tampering statement sent
through the application's own database role — and expects the database to refuse or
``verify_audit`` to name what was done.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit import chain, database_roles, integrity, retention
from audit.models import AuditEvent, AuditPrune, ChainCheckpoint
from audit.services import record
from tests.append_only import suspended

pytestmark = pytest.mark.django_db

ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _history(user, count: int = 5) -> list[AuditEvent]:
    return [
        record("recording.playback", actor=user, reason=f"consultation {n}") for n in range(count)
    ]


def _forge_pruning(
    checkpoint: ChainCheckpoint,
    doomed: list[int],
    *,
    key: Ed25519PrivateKey | None = None,
    record_event: bool = True,
    rewrite: dict[int, str] | None = None,
) -> AuditPrune:
    """What the intruder does: an open pruning row up to a real checkpoint opens the triggers;
    he deletes (and may re-insert edited) events below it, with a digest of what he leaves."""
    rewritten = []
    for event in AuditEvent.objects.filter(seq__in=list(rewrite or {})):
        event.pk = None
        event.reason = (rewrite or {})[event.seq]
        fields = {name: getattr(event, name) for name in chain.HASHED_FIELDS}
        event.hash = chain.event_hash(event.prev_hash, fields)
        rewritten.append(event)
    left = dict(
        AuditEvent.objects.filter(seq__lt=checkpoint.seq)
        .exclude(seq__in=doomed)
        .values_list("seq", "hash")
    )
    left.update({event.seq: event.hash for event in rewritten})
    digest = hashlib.sha256()
    for seq in sorted(left):
        digest.update(chain.kept_line(seq, left[seq]))
    pruned_at = timezone.now()
    signature, fingerprint = "00" * 64, "ab" * 32
    if key is not None:
        message = chain.prune_message(
            checkpoint.seq, checkpoint.head_hash, len(left), digest.hexdigest(), pruned_at
        )
        signature = key.sign(message).hex()
        fingerprint = chain.public_key_fingerprint(key.public_key())
    pruning = AuditPrune.objects.create(
        checkpoint=checkpoint,
        horizon_seq=checkpoint.seq,
        pruned_at=pruned_at,
        deleted_count=len(doomed),
        kept_count=len(left),
        kept_digest=digest.hexdigest(),
        signature=signature,
        key_fingerprint=fingerprint,
        actor_name="celery:prune_audit",
    )
    AuditEvent.objects.filter(seq__in=doomed).delete()
    for event in rewritten:
        event.save(force_insert=True)
    AuditPrune.objects.filter(pk=pruning.pk, open=True).update(open=False)
    if record_event:
        record(
            "audit.pruned",
            actor_name="celery:prune_audit",
            target=pruning,
            details={"horizon_seq": checkpoint.seq, "deleted": len(doomed)},
        )
    return pruning


def _verify_fails(match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command("verify_audit")


# --- forged prunings ------------------------------------------------------------------------------


def test_forged_pruning_with_a_dummy_signature_cannot_hide_deleted_events(supervisor):
    events = _history(supervisor)
    checkpoint = integrity.sign_chain_head()
    _history(supervisor, 2)
    pruning = _forge_pruning(checkpoint, [events[1].seq, events[2].seq])
    assert not AuditEvent.objects.filter(seq=events[1].seq).exists()  # the deletion went through
    _verify_fails(rf"pruning #{pruning.pk} \(up to event #{checkpoint.seq}\).*unknown key")


def test_forged_pruning_cannot_hide_an_event_re_inserted_edited(supervisor):
    events = _history(supervisor)
    checkpoint = integrity.sign_chain_head()
    target = events[2].seq
    pruning = _forge_pruning(checkpoint, [target], rewrite={target: "motif réécrit après coup"})
    assert AuditEvent.objects.get(seq=target).reason == "motif réécrit après coup"
    _verify_fails(rf"pruning #{pruning.pk}\b.*unknown key")


def test_forged_pruning_signed_with_the_intruders_own_key_is_named(supervisor):
    events = _history(supervisor)
    checkpoint = integrity.sign_chain_head()
    pruning = _forge_pruning(checkpoint, [events[0].seq], key=Ed25519PrivateKey.generate())
    _verify_fails(rf"pruning #{pruning.pk}\b.*unknown key")


def test_pruning_without_its_audit_pruned_event_is_named(supervisor):
    """Even with the real key (a script run beside the service), a pruning must be recorded."""
    events = _history(supervisor)
    checkpoint = integrity.sign_chain_head()
    real_key = chain.load_private_key(django_settings.AUDIT_SIGNING_KEY)
    pruning = _forge_pruning(checkpoint, [events[3].seq], key=real_key, record_event=False)
    _verify_fails(rf"pruning #{pruning.pk}\b.*no audit.pruned event")


def test_checkpoint_signed_by_an_unknown_key_is_named(supervisor):
    _history(supervisor)
    head = AuditEvent.objects.order_by("-seq").first()
    intruder = Ed25519PrivateKey.generate()
    signed_at = timezone.now()
    forged = ChainCheckpoint.objects.create(
        seq=head.seq,
        head_hash=head.hash,
        signed_at=signed_at,
        signature=intruder.sign(chain.checkpoint_message(head.seq, head.hash, signed_at)).hex(),
        key_fingerprint=chain.public_key_fingerprint(intruder.public_key()),
    )
    _verify_fails(rf"checkpoint #{forged.pk} of event #{head.seq}.*unknown key")


# --- truncation and rewriting of the newest events, against the anchor ----------------------


def test_deleting_the_newest_events_is_named_against_the_anchor(supervisor):
    _history(supervisor, 3)
    checkpoint = integrity.sign_chain_head()
    newest = _history(supervisor, 4)
    call_command("anchor_audit_head")
    with suspended(), connection.cursor() as cursor:  # a superuser, or a restored old backup
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [checkpoint.seq])
    _verify_fails(
        rf"truncated: the anchor .* holds event #{newest[-1].seq}, "
        rf"the chain now ends at #{checkpoint.seq}"
    )


def test_rewriting_the_newest_events_is_named_against_the_anchor(supervisor):
    _history(supervisor, 3)
    integrity.sign_chain_head()
    newest = _history(supervisor, 2)
    call_command("anchor_audit_head")
    with suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= %s", [newest[0].seq])
    # Re-written through the normal path: numbers and links are perfect, the content is not.
    record("recording.playback", actor=supervisor, reason="autre motif")
    record("recording.playback", actor=supervisor, reason="autre motif encore")
    _verify_fails(rf"event #{newest[-1].seq} differs from the one anchored")


# --- the application's own database role (PostgreSQL) -----------------------------------------

needs_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="database roles exist on PostgreSQL only"
)


@pytest.fixture
def app_role(transactional_db, settings):
    """The application's role, made as production makes it (setup_database_roles, run by the
    owner after migrating), dropped afterwards."""
    role = database_roles.AppRole(
        name=f"csu_app_{uuid.uuid4().hex[:10]}", password=secrets.token_hex(16)
    )
    params = connection.settings_dict
    settings.APP_DATABASE_URL = (
        f"postgres://{role.name}:{role.password}@{params['HOST'] or 'localhost'}"
        f":{params['PORT'] or 5432}/{params['NAME']}"
    )
    call_command("setup_database_roles")
    yield role
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role.name}"')
        cursor.execute(f'DROP ROLE "{role.name}"')


def _connect(role: database_roles.AppRole) -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        dbname=params["NAME"],
        user=role.name,
        password=role.password,
        autocommit=True,
    )


@contextmanager
def _django_as(role: database_roles.AppRole):
    """Django's own connection signed in as ``role``, as the web site and workers are."""
    saved = (connection.settings_dict["USER"], connection.settings_dict["PASSWORD"])
    connection.close()
    connection.settings_dict.update(USER=role.name, PASSWORD=role.password)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(USER=saved[0], PASSWORD=saved[1])


TAMPERING = [
    "UPDATE audit_auditevent SET reason = 'effacé' WHERE seq = 2",
    "DELETE FROM audit_auditevent WHERE seq = 2",
    "TRUNCATE audit_auditevent",
    "TRUNCATE audit_auditevent CASCADE",
    "UPDATE audit_chaincheckpoint SET signature = repeat('0', 128)",
    "DELETE FROM audit_chaincheckpoint",
    "DELETE FROM audit_auditprune",
    "UPDATE audit_auditprune SET open = TRUE",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only",
    "DROP TRIGGER audit_auditevent_append_only ON audit_auditevent",
    "CREATE TRIGGER intruder BEFORE DELETE ON audit_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    "SET session_replication_role = replica",
    "CREATE OR REPLACE FUNCTION csu_audit_event_guard() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "DROP TABLE audit_auditevent",
]


@needs_postgresql
@pytest.mark.parametrize("statement", TAMPERING)
def test_application_role_is_refused_every_tampering_statement(app_role, supervisor, statement):
    _history(supervisor, 3)
    before = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash"))
    with _connect(app_role) as intruder:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            intruder.execute(statement)
        # What the application needs still works with the same role.
        assert intruder.execute("SELECT count(*) FROM audit_auditevent").fetchone() == (3,)
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "hash")) == before
    call_command("verify_audit")


@needs_postgresql
def test_application_role_pruning_row_forged_through_the_prune_function_is_named(
    app_role, supervisor
):
    events = _history(supervisor)
    checkpoint = integrity.sign_chain_head()
    with _connect(app_role) as intruder:
        (pruning_id,) = intruder.execute(
            "INSERT INTO audit_auditprune (checkpoint_id, horizon_seq, pruned_at, deleted_count,"
            " kept_count, kept_digest, signature, key_fingerprint, open, actor_name)"
            " VALUES (%s, %s, now(), 1, 0, %s, %s, %s, TRUE, 'celery:prune_audit')"
            " RETURNING id",
            [checkpoint.id, checkpoint.seq, "0" * 64, "00" * 64, "ab" * 32],
        ).fetchone()
        (deleted,) = intruder.execute(
            "SELECT csu_audit_prune_events(%s, %s)", [pruning_id, [events[1].seq]]
        ).fetchone()
        assert deleted == 1
        # The row it used is closed by the function: it cannot serve again, nor be removed.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            intruder.execute("SELECT csu_audit_prune_events(%s, %s)", [pruning_id, [1]])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            intruder.execute("DELETE FROM audit_auditprune WHERE id = %s", [pruning_id])
    _verify_fails(rf"pruning #{pruning_id} \(up to event #{checkpoint.seq}\).*unknown key")


@needs_postgresql
def test_application_role_prunes_and_verifies_through_its_own_rights(
    app_role, supervisor, monkeypatch
):
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(days=500))
    _history(supervisor, 3)
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(days=400))
    checkpoint = integrity.sign_chain_head()
    monkeypatch.setattr(timezone, "now", real_now)
    _history(supervisor, 2)
    with _django_as(app_role):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (app_role.name,)
        pruned = retention.prune()
        assert pruned is not None and pruned.deleted_count == 3
        assert pruned.horizon_seq == checkpoint.seq and not pruned.open
        result = integrity.verify_and_record(actor_name="test")
        assert result.ok, result.problems


@needs_postgresql
def test_application_role_is_a_plain_login_whose_password_never_travels_in_clear(app_role):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
            " rolpassword FROM pg_authid WHERE rolname = %s",
            [app_role.name],
        )
        *powers, stored = cursor.fetchone()
    assert powers == [False, False, False, False, False]
    assert stored.startswith("SCRAM-SHA-256$") and app_role.password not in stored
    # Stating the rights again (after the next migration) changes nothing for the intruder.
    call_command("setup_database_roles")
    with _connect(app_role) as intruder, pytest.raises(psycopg.errors.InsufficientPrivilege):
        intruder.execute("DELETE FROM audit_auditevent")


@pytest.mark.skipif(ON_POSTGRESQL, reason="the refusal of the embedded database")
def test_roles_are_refused_on_sqlite(settings):
    settings.APP_DATABASE_URL = "postgres://csu_app:x@localhost:5432/csu"
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("setup_database_roles")


@needs_postgresql
def test_migrating_as_the_owner_states_the_application_roles_rights(transactional_db, settings):
    """The migrate step of production (owner's URL, CSU_APP_DATABASE_URL) makes the role."""
    role = database_roles.AppRole(
        name=f"csu_app_{uuid.uuid4().hex[:10]}", password=secrets.token_hex(16)
    )
    params = connection.settings_dict
    settings.APP_DATABASE_URL = (
        f"postgres://{role.name}:{role.password}@localhost:5432/{params['NAME']}"
    )
    try:
        call_command("migrate", verbosity=0)
        with _connect(role) as application:
            application.execute("SELECT count(*) FROM audit_auditevent")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                application.execute("TRUNCATE audit_auditevent")
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role.name])
            if cursor.fetchone():
                cursor.execute(f'DROP OWNED BY "{role.name}"')
                cursor.execute(f'DROP ROLE "{role.name}"')


@needs_postgresql
def test_a_role_that_can_become_the_owner_is_refused_as_the_application_role(app_role):
    """Granted the owner's role, the application could SET ROLE to it and lift the triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        cursor.execute(f'GRANT "{owner}" TO "{app_role.name}"')
    try:
        with pytest.raises(CommandError, match=rf"member of, {owner}:"):
            call_command("setup_database_roles")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'REVOKE "{owner}" FROM "{app_role.name}"')
