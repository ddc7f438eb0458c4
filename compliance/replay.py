"""Access requests as procedures for replay: the provider compliance registers in recordings.

An access request is in course while it is open (not yet answered or refused): the room looks
for the person in the footage of its cameras over the period the person gave, to prepare the
extract. Once answered or refused, it allows no replay.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cameras.models import Camera
from cameras.purposes import RIGHT_OF_ACCESS
from compliance.models import AccessRequest, AccessRequestCamera
from compliance.roles import REQUEST_HANDLERS
from csu.lib.times import paris_text
from recordings.procedures import Procedure, ProcedureWindow

KIND = "access_request"


def covering(camera: Camera, user: Any = None) -> list[Procedure]:
    """The open access requests that name ``camera``, each with its period."""
    rows = (
        AccessRequestCamera.objects.filter(camera=camera, request__status=AccessRequest.Status.OPEN)
        .select_related("request")
        .order_by("request__received_at", "request_id")
    )
    may_open = bool(user is not None and getattr(user, "role", None) in REQUEST_HANDLERS)
    return [
        Procedure(
            kind=KIND,
            id=row.request_id,
            reference=row.request.reference,
            label=_("Demande d'accès %(reference)s") % {"reference": row.request.reference},
            windows=(ProcedureWindow(row.request.starts_at, row.request.ends_at),),
            state=_("en cours, réponse due le %(deadline)s")
            % {"deadline": paris_text(row.request.deadline, seconds=False)},
            url=reverse("compliance:request_detail", args=[row.request_id]) if may_open else "",
            purpose=RIGHT_OF_ACCESS,
        )
        for row in rows
    ]
