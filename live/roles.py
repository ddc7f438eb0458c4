"""Who watches live video (a live habilitation covering the camera is needed on top)."""

from __future__ import annotations

from accounts.roles import ROLE_RIGHTS, Right, Role

#: The roles whose habilitations may grant live viewing: the wall and its streams.
WALL_VIEWERS = frozenset(role for role, rights in ROLE_RIGHTS.items() if Right.LIVE in rights)
#: Manage the rooms and their shared wall presets.
PRESET_EDITORS = frozenset({Role.SUPERVISOR})
