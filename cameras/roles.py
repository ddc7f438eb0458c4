"""Who uses which part of the camera register (images additionally need a habilitation)."""

from __future__ import annotations

from accounts.roles import Role

#: Read the register: cameras, authorizations, masks (as polygons), outages, history.
REGISTER_READERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO})
#: Create and edit cameras and authorizations.
REGISTER_MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
#: Draw and validate privacy masks (over a live image: a habilitation is needed too).
MASK_EDITORS = frozenset({Role.SUPERVISOR})
#: Watch the health dashboard.
HEALTH_WATCHERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
