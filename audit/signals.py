"""Integrity failures the product detects itself, for whoever keeps a register of them.

A lower app sends ``integrity_failure`` where it detects the failure; an upper app (the
breach register) subscribes in its ``AppConfig.ready``. ``key`` names the failure so that the
same one detected again is recognised; ``detector`` names what detected it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import Signal

integrity_failure = Signal()


def report_integrity_failure(
    *, key: str, detector: str, summary: str, details: dict[str, Any], at: datetime
) -> None:
    """Tell the subscribers; a subscriber's error never hides the failure from its detector."""
    integrity_failure.send_robust(
        sender=None, key=key, detector=detector, summary=summary, details=details, at=at
    )
