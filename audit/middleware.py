from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import ip_address

from django.http import HttpRequest, HttpResponse

from audit import context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ip_address(raw))
    except ValueError:
        return None


class RequestContextMiddleware:
    """Binds the request's IP, user agent and id for the audit trail, and echoes the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else context.new_request_id()
        token = context.bind(
            context.RequestContext(
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:512],
                request_id=request_id,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.unbind(token)
        response["X-Request-ID"] = request_id
        return response
