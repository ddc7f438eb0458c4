"""Lifting the append-only protection, for the few who may: a database superuser.

The test suite empties its database between tests with it, the dashboard bench its scratch
schema; the product never lifts it.
On PostgreSQL it needs superuser rights (``session_replication_role``), which the application's
own database role does not have in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module

from django.db import connection

_TABLES = ("audit_auditevent", "audit_chaincheckpoint", "audit_auditprune")


def _sqlite_triggers() -> list[str]:
    """The triggers as migrations 0002 and 0003 leave them."""
    prune = import_module("audit.migrations.0003_prune")
    statements = []
    for table in ("audit_auditevent", "audit_chaincheckpoint"):
        for op in ("UPDATE", "DELETE"):
            if (table, op) == ("audit_auditevent", "DELETE"):
                statements.append(prune.SQLITE_EVENT_DELETE)
                continue
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, "
                f"'audit trail is append-only: {op} on {table} refused'); END"
            )
    return statements + prune.SQLITE_PRUNE


@contextmanager
def suspended() -> Iterator[None]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            try:
                yield
            finally:
                with connection.cursor() as again:
                    again.execute("SET session_replication_role = DEFAULT")
        else:
            for table in _TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            try:
                yield
            finally:
                with connection.cursor() as again:
                    for statement in _sqlite_triggers():
                        again.execute(statement)
