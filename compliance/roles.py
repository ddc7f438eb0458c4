"""Who uses the DPO's pages: the registers, the audit trail, the access requests."""

from __future__ import annotations

from accounts.roles import Role

#: Read the audit trail and export it.
AUDIT_READERS = frozenset({Role.DPO})
#: Read the registers of processing and build the audit pack.
COMPLIANCE_READERS = frozenset({Role.DPO})
#: See and follow the access requests of the people filmed.
REQUEST_HANDLERS = frozenset({Role.DPO, Role.SUPERVISOR})
#: Register, validate and answer an access request: the DPO's acts.
REQUEST_ANSWERERS = frozenset({Role.DPO})
#: Build and download an extract of the footage of the person who asked.
EXTRACT_BUILDERS = frozenset({Role.SUPERVISOR})
#: Keep the register of personal-data breaches (RGPD art. 33.5).
BREACH_KEEPERS = frozenset({Role.DPO})
