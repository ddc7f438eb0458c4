"""Sign-in lockout (django-axes): per account and address, and per address across accounts.

Two counts, each against its own limit, over the cool-off window (``AXES_COOLOFF_TIME``):

- one account from one address (``CSU_LOCKOUT_FAILURES``): guessing one person's password. It is
  keyed by the address too, so that nobody can lock a chosen colleague out of their own
  workstation from elsewhere, and it lifts by itself after the cool-off; failures sent during a
  lockout do not prolong it.
- one address across every account (``CSU_LOCKOUT_IP_FAILURES``): password spraying. Its limit is
  higher, because a whole control room often shares one address behind its router.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's address, as ``csu.security.TrustedProxyMiddleware`` established it.

    X-Forwarded-For is believed only from trusted proxies (that middleware); reading it here
    would let a client pick a new address for every guess.
    """
    return request.META.get("REMOTE_ADDR")


def group_limits() -> tuple[int, int]:
    """The limits of the groups of ``AXES_LOCKOUT_PARAMETERS``, in that order."""
    return settings.AXES_FAILURE_LIMIT, settings.LOCKOUT_IP_FAILURE_LIMIT


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with one limit per lockout group.

    Axes compares a single failure count with ``AXES_FAILURE_LIMIT``; the count returned here is
    scaled so that it reaches that limit exactly when one group reaches its own.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        limit = settings.AXES_FAILURE_LIMIT
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        return max(
            (count * limit // own for count, own in zip(counts, group_limits(), strict=True)),
            default=0,
        )

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """A successful sign-in clears that account's failures from that address only.

        The address's other failures stay counted: one valid account must not wipe a spray.
        """
        account_from_address = self.filter_user_attempts(request, credentials)[0]
        count, _ = account_from_address.delete()
        return count
