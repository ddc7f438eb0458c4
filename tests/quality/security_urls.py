"""The URL conf, walked: every route with its full name, its parameters and a URL to try.

The security tests iterate over this list, so a route added to any ``urls.py`` is covered
(CSRF) or must be named (IDOR table or allow-list) without anyone editing the tests first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route itself when the pattern has no name
    route: str
    params: tuple[str, ...]
    pattern: URLPattern

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    def url(self, values: dict[str, Any]) -> str:
        if not self.pattern.name:
            return "/" + self.route
        return reverse(self.name, kwargs={p: values[p] for p in self.params})


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = (prefix + str(pattern.pattern)).replace("^", "").replace("$", "")
                params = tuple(pattern.pattern.regex.groupindex)
                name = f"{namespace}{pattern.name}" if pattern.name else route
                found.append(Route(name, route, params, pattern))

    walk(get_resolver().url_patterns, "", "")
    return found
