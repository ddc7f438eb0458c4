"""Who acts in a service, and the request of a signed-in person, for the type checker.

audit describes an actor by what its trail reads of one (``audit.services.Actor``); above
accounts, a person is this project's user. Views behind the sign-in (``role_required``, the
API's authentication) never see an anonymous visitor: their request says so.
"""

from __future__ import annotations

from typing import TypeAlias, cast

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User
from audit.services import SystemActor

__all__ = ["Actor", "SignedInRequest", "SystemActor", "person", "signed_in"]

#: A signed-in user, or a named part of the system ("purge", "manage.py load_demo").
Actor: TypeAlias = User | SystemActor


def person(actor: Actor | None) -> User | None:
    """The user who acts, or None when a part of the system does."""
    return actor if isinstance(actor, User) else None


class SignedInRequest(HttpRequest):
    """A page's request once the sign-in is checked: its user is a person."""

    user: User


def signed_in(request: HttpRequest | Request) -> User:
    """The person behind a request that the API's authentication and permissions let through.

    Every API view requires a signed-in, verified user (``IsVerified`` by default, a role
    otherwise): its request never carries an anonymous visitor.
    """
    return cast(User, request.user)
