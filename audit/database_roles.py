"""The application's own PostgreSQL role: INSERT and SELECT only on the audit tables.

Migrations run as the owner of the tables (``DATABASE_URL`` of the migration step). The web
site, the workers, the recorders and beat connect as another role, made here: a login that is
not a superuser, may not create roles or databases, and holds only

- SELECT, INSERT, UPDATE, DELETE on the other tables (and their sequences);
- SELECT, INSERT on the audit tables: no UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER, and,
  not owning them, no ALTER TABLE (triggers stay on) and no ``session_replication_role``;
- EXECUTE on ``csu_audit_prune_events`` (migration 0004), through which pruning runs.

Run after every migration (``post_migrate``, when ``CSU_APP_DATABASE_URL`` is set) and by
``manage.py setup_database_roles``; running it again only re-states the same rights.
"""

from __future__ import annotations

from dataclasses import dataclass

import dj_database_url
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction

PRUNE_FUNCTION = "csu_audit_prune_events(bigint, bigint[])"


class RoleSetupError(Exception):
    """The application's role cannot be set up as asked: nothing was changed."""


@dataclass(frozen=True)
class AppRole:
    name: str
    password: str


def app_role_from_settings() -> AppRole | None:
    """The role named by CSU_APP_DATABASE_URL, or None when it is not set."""
    if not settings.APP_DATABASE_URL:
        return None
    try:
        parsed = dj_database_url.parse(settings.APP_DATABASE_URL)
    except ValueError:
        raise RoleSetupError("CSU_APP_DATABASE_URL is not a database URL") from None
    if parsed["ENGINE"] != "django.db.backends.postgresql" or not parsed.get("USER"):
        raise RoleSetupError("CSU_APP_DATABASE_URL must be a postgres:// URL naming a user")
    return AppRole(name=parsed["USER"], password=parsed.get("PASSWORD") or "")


def audit_tables() -> set[str]:
    return {model._meta.db_table for model in apps.get_app_config("audit").get_models()}


def setup_application_role(*, role: AppRole, using: str = "default") -> dict[str, int]:
    """Create or update ``role`` and state its rights; returns how many tables of each kind."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise RoleSetupError("database roles exist on PostgreSQL only")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        if role.name == owner:
            raise RoleSetupError(
                f"the application's role must differ from the migration role {owner!r}"
            )
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role.name])
        existing = cursor.fetchone()
        if existing and existing[0]:
            raise RoleSetupError(f"role {role.name!r} is a superuser: use another role")
        if existing:
            # Ownership, or a membership that would let the role SET ROLE to an owner or to
            # pg_write_all_data, gives back what the grants below withhold.
            cursor.execute(
                "SELECT r.rolname FROM pg_roles r WHERE (r.rolname = 'pg_write_all_data' OR "
                "r.oid IN (SELECT c.relowner FROM pg_class c WHERE c.relname = ANY(%s))) "
                "AND pg_has_role(%s, r.oid, 'MEMBER')",
                [sorted(audit_tables()), role.name],
            )
            powerful = [name for (name,) in cursor.fetchall()]
            if powerful:
                raise RoleSetupError(
                    f"role {role.name!r} is, or is a member of, {', '.join(powerful)}: "
                    "it could change the audit trail; use another role"
                )
        tables = set(connection.introspection.table_names(cursor))
    audit = audit_tables() & tables
    others = tables - audit
    name = quote(role.name)
    # Sent as a SCRAM verifier computed here: the password itself never reaches the server's
    # logs, nor Django's query log (the raw driver cursor is used for this one statement).
    verifier = _scram_verifier(connection, role)
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
    with transaction.atomic(using=using), connection.cursor() as cursor:
        raw = cursor.cursor
        verb = "ALTER" if existing else "CREATE"
        if verifier:
            raw.execute(f"{verb} ROLE {name} WITH {attributes} PASSWORD {_literal(verifier)}")
        else:
            raw.execute(f"{verb} ROLE {name} WITH {attributes}")
        cursor.execute(f"GRANT CONNECT ON DATABASE {quote(database)} TO {name}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {name}")
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {name}")
        for table in sorted(others):
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote(table)} TO {name}")
        for table in sorted(audit):
            cursor.execute(f"GRANT SELECT, INSERT ON {quote(table)} TO {name}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {name}")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {PRUNE_FUNCTION} TO {name}")
    return {"audit_tables": len(audit), "other_tables": len(others)}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scram_verifier(connection, role: AppRole) -> str:
    """SCRAM-SHA-256 verifier of the role's password, computed by libpq (empty: no password)."""
    if not role.password:
        return ""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    return pgconn.encrypt_password(
        role.password.encode(), role.name.encode(), b"scram-sha-256"
    ).decode()


def setup_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """``post_migrate`` receiver: re-state the application role's rights after each migration."""
    if connections[using].vendor != "postgresql":
        return
    role = app_role_from_settings()
    if role is not None:
        setup_application_role(role=role, using=using)
