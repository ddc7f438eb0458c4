"""Procedures within which recorded footage may be replayed: the extension point the upper apps
fill.

Recorded images are viewed only within a procedure: a judicial requisition (evidence) or an
access request of a filmed person (compliance) that covers the camera and the range asked for.
Recordings sits below both apps and must not import them: each registers, when it starts, a
provider that names the procedures in course covering a camera, with their windows on it.
Replay without a procedure ("levée de doute") is a setting of its own
(``RECORDING_REPLAY_OPERATIONAL_HOURS``), off by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from cameras.models import Camera
from csu.lib.times import paris_text

#: The basis of a replay without a procedure, allowed only by RECORDING_REPLAY_OPERATIONAL_HOURS.
OPERATIONAL = "levee_de_doute"


@dataclass(frozen=True)
class ProcedureWindow:
    """One camera × time window [starts_at, ends_at) that a procedure covers."""

    starts_at: datetime
    ends_at: datetime

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.starts_at <= start and end <= self.ends_at

    @property
    def text(self) -> str:
        """The window in Paris time, for people."""
        return f"{paris_text(self.starts_at)} – {paris_text(self.ends_at)}"


@dataclass(frozen=True)
class Procedure:
    """A procedure in course that covers a camera: what replay is tied to and audited under."""

    kind: str
    id: int
    reference: str
    #: In words for the page, the audit trail and the registers: kind and reference.
    label: str
    #: The windows it covers on the camera asked about, in time order.
    windows: tuple[ProcedureWindow, ...]
    #: Where it stands, in words ("en attente de décision", "réponse due le ...").
    state: str = ""
    #: The procedure's page, "" where the person asking may not open it.
    url: str = ""
    #: What watching within it serves when the procedure itself says so (an access request:
    #: the filmed person's right of access); "" when the viewer names the L251-2 purpose.
    purpose: str = ""

    @property
    def key(self) -> str:
        """``kind:id``, the value a form sends back."""
        return f"{self.kind}:{self.id}"

    def covers(self, start: datetime, end: datetime) -> bool:
        """True when [start, end) lies entirely inside one of its windows."""
        return any(window.contains(start, end) for window in self.windows)


#: ``provider(camera, user)``: the procedures of one kind in course whose windows cover
#: ``camera`` (at least one window each); ``user`` decides only whether ``url`` is given.
Provider = Callable[[Camera, Any], list[Procedure]]

_providers: dict[str, Provider] = {}


def register(kind: str, provider: Provider) -> None:
    """Called from an AppConfig.ready: ``provider`` answers for the procedures of ``kind``."""
    if kind == OPERATIONAL:
        raise ValueError(f"{kind!r} is the basis of replay without a procedure")
    _providers[kind] = provider


def kinds() -> list[str]:
    return sorted(_providers)


def covering(camera: Camera, user: Any = None) -> list[Procedure]:
    """Every procedure in course that covers ``camera``, by kind then reference."""
    found: list[Procedure] = []
    for kind in sorted(_providers):
        found.extend(
            procedure
            for procedure in _providers[kind](camera, user)
            if procedure.kind == kind and procedure.windows
        )
    return found


def find(camera: Camera, kind: str, procedure_id: int, user: Any = None) -> Procedure | None:
    """The procedure ``kind`` #``procedure_id`` if it is in course and covers ``camera``."""
    provider = _providers.get(kind)
    if provider is None:
        return None
    for procedure in provider(camera, user):
        if procedure.kind == kind and procedure.id == procedure_id and procedure.windows:
            return procedure
    return None


def parse_key(value: str) -> tuple[str, int | None] | None:
    """``kind:id`` → (kind, id); the operational basis → (OPERATIONAL, None); else None."""
    value = (value or "").strip()
    if value == OPERATIONAL:
        return OPERATIONAL, None
    kind, sep, number = value.partition(":")
    if not sep or kind not in _providers or not number.isdigit():
        return None
    return kind, int(number)


def operational_hours() -> int:
    """How many hours back a camera may be replayed without a procedure (0: never)."""
    return int(settings.RECORDING_REPLAY_OPERATIONAL_HOURS)
