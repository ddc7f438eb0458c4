"""The permission matrix: one helper that every page and endpoint test uses.

For a URL it tries, each with a fresh client: anonymous; every role that is not allowed; each
allowed role signed in but without its second factor; and, where images are concerned, each
allowed role without then with the habilitation. The expected outcomes:

- page: anonymous → redirect to sign-in; second factor missing → redirect to the code page;
  wrong role → 403; allowed without habilitation → 403; allowed (with habilitation) → ``ok``.
- API: anonymous → 401/403; second factor missing → 403; wrong role → 403; allowed →
  ``ok``.

Each refused role expects one status, 403 unless ``refused`` names another for it: 404 where
the object lies outside the person's scope (a requisition of another service), so that its
existence is not confirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.test import Client

from accounts.models import User
from accounts.roles import Role
from tests import matrix_coverage
from tests.conftest import sign_in
from tests.factories import ServiceFactory, UserFactory


def make_person(role: str, **extra: Any) -> User:
    if role == Role.OPJ and "service" not in extra:
        extra["service"] = ServiceFactory()
    return UserFactory(role=role, **extra)


@dataclass
class Matrix:
    url: str | Callable[[], str]
    allowed: Iterable[str]
    method: str = "get"
    data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    api: bool = False
    ok: Iterable[int] = (200,)
    #: Grants the habilitation this endpoint needs to a person (None: none needed).
    habilitate: Callable[[User], None] | None = None
    #: The status of a refused person (a wrong role, or an allowed one without habilitation):
    #: one for all, or per role (404 where the object is outside that role's scope; 403 for the
    #: roles not named).
    refused: int | Mapping[str, int] = 403
    content_type: str = "application/json"

    def _request(self, client: Client):
        url = self.url() if callable(self.url) else self.url
        matrix_coverage.note(url)
        data = self.data() if callable(self.data) else self.data
        kwargs: dict[str, Any] = {}
        if data is not None:
            kwargs["data"] = data
            if self.api and self.method != "get":
                kwargs["content_type"] = self.content_type
        return getattr(client, self.method)(url, **kwargs)

    def refused_status(self, role: str) -> int:
        if isinstance(self.refused, int):
            return self.refused
        unknown = set(self.refused) - set(Role.values)
        if unknown:
            raise ValueError(f"refused names unknown roles: {sorted(unknown)}")
        return self.refused.get(role, 403)

    def check(self) -> None:
        allowed = set(self.allowed)
        ok = set(self.ok)
        failures: list[str] = []

        def expect(who: str, response, wanted: set[int], location: str | None = None) -> None:
            if response.status_code not in wanted:
                failures.append(
                    f"{who}: got {response.status_code}, expected one of {sorted(wanted)}"
                )
            elif location and location not in response.get("Location", ""):
                failures.append(
                    f"{who}: redirected to {response.get('Location')!r}, not {location}"
                )

        anonymous = self._request(Client())
        if self.api:
            expect("anonymous", anonymous, {401, 403})
        else:
            expect("anonymous", anonymous, {302}, "/comptes/login/")

        for role in Role.values:
            person = make_person(role)
            if role not in allowed:
                if self.habilitate:
                    self.habilitate(person)
                response = self._request(sign_in(Client(), person))
                expect(f"role {role}", response, {self.refused_status(role)})
                continue
            if person.requires_second_factor:
                half = Client()
                half.force_login(person)
                response = self._request(half)
                if self.api:
                    expect(f"role {role} without second factor", response, {403})
                else:
                    expect(f"role {role} without second factor", response, {302}, "/comptes/otp/")
            client = sign_in(Client(), person)
            if self.habilitate:
                refused = {self.refused_status(role)}
                expect(f"role {role} without habilitation", self._request(client), refused)
                self.habilitate(person)
            expect(f"role {role}", self._request(client), ok)

        assert not failures, f"{self.method.upper()} {self.url}:\n  " + "\n  ".join(failures)


def check_matrix(**kwargs: Any) -> None:
    Matrix(**kwargs).check()
