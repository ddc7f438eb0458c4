"""Who uses which part of the recordings: replay, the recorders' state, retention."""

from __future__ import annotations

from accounts.roles import Role

#: Replay footage (a replay habilitation covering the camera is needed on top).
REPLAYERS = frozenset({Role.SUPERVISOR})
#: Watch the recorders' state (no image is shown there).
RECORDER_WATCHERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
#: Read the destruction register and the holds.
RETENTION_READERS = frozenset({Role.SUPERVISOR, Role.DPO})
#: Place and lift manual holds.
HOLD_MANAGERS = frozenset({Role.SUPERVISOR})
