"""The chain stays linear when many writers append at once (PostgreSQL and SQLite)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from audit import integrity
from audit.models import AuditEvent
from audit.services import record

WRITERS = 20
EVENTS_EACH = 5


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_writers_leave_a_valid_chain(operator):
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                record("account.updated", actor=operator, reason=f"writer {n} event {i}")
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1)), connection.vendor
    result = integrity.verify_chain()
    assert result.ok, result.problems
