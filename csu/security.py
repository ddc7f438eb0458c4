"""Response headers the pages need in production, and the client's address behind a proxy."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from ipaddress import ip_address, ip_network

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy (settings) unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(
            f"{directive} {' '.join(sources)}"
            for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class TrustedProxyMiddleware:
    """REMOTE_ADDR becomes the client named by X-Forwarded-For when a trusted proxy forwarded it.

    The audit trail records where each consultation came from; behind the reverse proxy,
    REMOTE_ADDR is the proxy. Only proxies listed in CSU_TRUSTED_PROXIES are believed, and the
    client is the right-most address that is not one of them (a client can forge the left part).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        try:
            self.trusted = [ip_network(item, strict=False) for item in settings.TRUSTED_PROXIES]
        except ValueError as exc:
            raise ImproperlyConfigured(f"CSU_TRUSTED_PROXIES: {exc}") from None

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if self.trusted and forwarded and self._is_trusted(request.META.get("REMOTE_ADDR", "")):
            for hop in reversed([part.strip() for part in forwarded.split(",")]):
                if not self._is_trusted(hop):
                    # Garbage from the client leaves the proxy's address in place.
                    with suppress(ValueError):
                        request.META["REMOTE_ADDR"] = str(ip_address(hop))
                    break
        return self.get_response(request)
