"""Who takes which part in a requisition, and who reads the extraction registers."""

from __future__ import annotations

from accounts.roles import Role

#: See requisitions (each within their scope): the requesting officers, the magistrates who
#: decide, the room's supervisors who extract.
REQUISITION_READERS = frozenset({Role.OPJ, Role.MAGISTRATE, Role.SUPERVISOR})
#: Submit and cancel a requisition, download the package it gave.
REQUESTERS = frozenset({Role.OPJ})
#: Review and decide a requisition.
DECIDERS = frozenset({Role.MAGISTRATE})
#: Read the scanned requisition: who wrote it and who decides it.
ATTACHMENT_READERS = REQUESTERS | DECIDERS
#: Build the package, release it, issue the download link again, check its clips.
EXTRACTORS = frozenset({Role.SUPERVISOR})
#: Read the extraction and handover registers.
EXTRACTION_REGISTER_READERS = frozenset({Role.SUPERVISOR, Role.DPO})
