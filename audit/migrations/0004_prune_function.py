"""Pruning through a function owned by the tables' owner, for an application role that may not.

In production the application connects as a role that may only INSERT and SELECT on the audit
tables (``audit.database_roles``). Pruning needs to DELETE expired events and close its pruning row: the
SECURITY DEFINER function below does exactly that, as the owner, for one open pruning row and
below its horizon only; the append-only triggers still apply. A pruning row that an intruder
inserts to use it is named by ``verify_audit`` (its signature is not from a pinned key).
"""

from __future__ import annotations

from django.db import migrations

PG_PRUNE_FUNCTION = """
CREATE OR REPLACE FUNCTION csu_audit_prune_events(p_prune_id bigint, p_seqs bigint[])
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path FROM CURRENT
AS $$
DECLARE
    v_horizon bigint;
    v_deleted bigint;
BEGIN
    SELECT horizon_seq INTO v_horizon FROM audit_auditprune
        WHERE id = p_prune_id AND open FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit pruning %: no such open pruning', p_prune_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM audit_auditevent WHERE seq = ANY(p_seqs) AND seq < v_horizon;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    UPDATE audit_auditprune SET open = FALSE WHERE id = p_prune_id;
    RETURN v_deleted;
END;
$$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite has no roles: retention deletes directly, under the triggers
    schema_editor.execute(PG_PRUNE_FUNCTION, params=None)
    schema_editor.execute(
        "REVOKE ALL ON FUNCTION csu_audit_prune_events(bigint, bigint[]) FROM PUBLIC"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS csu_audit_prune_events(bigint, bigint[])")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_prune")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
