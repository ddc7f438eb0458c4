"""What a production start refuses, beyond the settings: the demo's accounts and TOTP devices.

The settings refuse what they can see alone (a data folder open to others, keys left under
``CSU_DATA_DIR/secrets``, a ``*_FILE`` pointing there). The demo's leftovers live in the
database, so they are checked by the processes that serve — gunicorn's WSGI application,
``runserver``, the Celery workers (recorders included) and beat — when they start, and by
``manage.py check --deploy``. ``migrate`` does not check them: it must run on an empty database,
and a database that came from a demo must still be migrated before it can be cleaned.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import demo_accounts, demo_devices
from accounts.models import User

FIX = "python manage.py remove_demo_access"


def demo_leftovers() -> list[str]:
    """What the demo left in the database, in words; empty when its tables do not exist yet."""
    tables = set(connections["default"].introspection.table_names())
    problems = []
    if User._meta.db_table in tables:
        names = list(demo_accounts().order_by("username").values_list("username", flat=True))
        if names:
            problems.append(
                f"demo accounts are active ({', '.join(names)}): their shared password was "
                "printed on a console and kept on disk"
            )
    if TOTPDevice._meta.db_table in tables:
        owners = list(
            demo_devices().order_by("user__username").values_list("user__username", flat=True)
        )
        if owners:
            problems.append(
                f"demo TOTP devices remain ({', '.join(owners)}): manage.py demo_totp prints "
                "their codes to anyone with a shell on a demo copy of the database"
            )
    return problems


def refuse_unsafe_start(process: str) -> None:
    """In production, stop ``process`` at start when the demo's leftovers are in the database."""
    if not settings.PRODUCTION:
        return
    try:
        problems = demo_leftovers()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problems = [
            "the database could not be checked for demo accounts and devices "
            f"({type(exc).__name__}: {first_line})"
        ]
    finally:
        # Forked workers (gunicorn, Celery's prefork pool) must not share this connection.
        connections.close_all()
    if problems:
        raise ImproperlyConfigured(
            f"CSU_PRODUCTION: the {process} refuses to start: "
            + "; ".join(problems)
            + f". Remove them with `{FIX}` (audited), then start again."
        )


@checks.register(checks.Tags.security, deploy=True)
def check_demo_leftovers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``check --deploy``: the refusals the serving processes would make."""
    if not settings.PRODUCTION:
        return []
    try:
        problems = demo_leftovers()
    except DatabaseError:
        return []  # check --deploy also runs where no database is reachable (image build)
    return [checks.Error(problem, hint=f"Run `{FIX}`.", id="csu.E001") for problem in problems]
