"""Periodic work of the room's operations: the alarm queue's scan."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from operations import alarms


@shared_task(ignore_result=True, soft_time_limit=45, time_limit=55)
def scan_alarms() -> dict[str, Any]:
    """Raise, fold and close the alarms of the states that need the room (operations.alarms)."""
    return asdict(alarms.alarm_scan())
