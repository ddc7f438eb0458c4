"""Who uses which part of the camera register (images additionally need a habilitation)."""

from __future__ import annotations

from accounts.roles import Role

#: Read the register: cameras, authorizations, masks (as polygons), outages, history.
REGISTER_READERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO})
#: See the cameras on the map of the room, with their state: whoever reads the register.
MAP_READERS = REGISTER_READERS
#: Create and edit cameras and authorizations.
REGISTER_MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
#: Draw and validate privacy masks (over a live image: a habilitation is needed too).
MASK_EDITORS = frozenset({Role.SUPERVISOR})
#: Validate a mask version drawn by someone else (four eyes): another chef de salle, or the DPO,
#: who checks the polygons and their note without seeing the picture.
MASK_VALIDATORS = MASK_EDITORS | {Role.DPO}
#: Watch the health dashboard.
HEALTH_WATCHERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
#: Ask for a camera's retention to be lowered (the camera's managers).
RETENTION_REQUESTERS = REGISTER_MANAGERS
#: Validate or refuse a lowering of a camera's retention.
RETENTION_DECIDERS = frozenset({Role.DPO})
#: Follow the retention change requests.
RETENTION_READERS = RETENTION_REQUESTERS | RETENTION_DECIDERS
#: Acknowledge the expiry alerts of the authorizations (the task: renew the arrêté).
AUTHORIZATION_ALERT_HANDLERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
#: Follow the expiry alerts (the DPO reads them).
AUTHORIZATION_ALERT_READERS = AUTHORIZATION_ALERT_HANDLERS | {Role.DPO}
#: Read the cameras stopped for want of an authorization and the history of stops.
RECORDING_STOP_READERS = frozenset({Role.DPO, Role.SUPERVISOR, Role.ADMIN})
