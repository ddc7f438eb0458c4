"""Who uses which part of the room's operations."""

from __future__ import annotations

from accounts.roles import Role

#: Clock in and out, log and follow signalements, watch the dashboard.
ROOM_STAFF = frozenset({Role.OPERATOR, Role.SUPERVISOR})
#: Close a forgotten clock-out, plan the rota.
ROOM_MANAGERS = frozenset({Role.SUPERVISOR})
#: Read the activity statistics and the annual report.
STATISTICS_READERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.DPO})
#: Link a requisition to signalements: the requesting officer, and the room's supervisor.
REQUISITION_LINKERS = frozenset({Role.OPJ, Role.SUPERVISOR})
#: Watch the alarm queue, acknowledge (with a comment) and close alarms.
ALARM_HANDLERS = ROOM_STAFF
#: Read the alarms' history: who acknowledged or closed what, and when.
ALARM_HISTORY_READERS = ROOM_MANAGERS
