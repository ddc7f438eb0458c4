"""Searches ignore accents (PostgreSQL's unaccent) and one person's periods never overlap.

On PostgreSQL this needs the extensions ``unaccent`` and ``btree_gist``. Creating them needs a
role allowed to (a superuser, or the database's owner on PostgreSQL 13+ where both are
"trusted"); where the application's role may not, an administrator runs once, as a superuser:

    CREATE EXTENSION IF NOT EXISTS unaccent;
    CREATE EXTENSION IF NOT EXISTS btree_gist;

and this migration then finds them and creates nothing. SQLite needs neither: the application
gives it an ``unaccent`` function on each connection (csu.lib.search), and the services refuse
overlaps under a lock on both databases.
"""

from django.contrib.postgres.operations import BtreeGistExtension, UnaccentExtension
from django.db import migrations

#: One person's shifts, and one person's rota slots, never overlap (an open shift runs on).
CONSTRAINTS = [
    (
        "operations_shift",
        "shift_no_overlap",
        "EXCLUDE USING gist (operator_id WITH =, tstzrange(started_at, ended_at, '[)') WITH &&)",
    ),
    (
        "operations_rotaslot",
        "rota_slot_no_overlap",
        "EXCLUDE USING gist (operator_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)",
    ),
]


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, definition in CONSTRAINTS:
        schema_editor.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}; "
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
        )


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _definition in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("operations", "0005_alarm")]

    operations = [
        UnaccentExtension(),
        BtreeGistExtension(),
        migrations.RunPython(add_constraints, drop_constraints),
    ]
