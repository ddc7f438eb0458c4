"""Who, from where, for which request: set by the middleware, read by ``audit.services.record``."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "csu_audit_request", default=None
)


def current() -> RequestContext:
    return _current.get() or RequestContext()


def bind(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex
