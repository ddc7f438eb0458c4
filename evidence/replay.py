"""Requisitions as procedures for replay: the provider evidence registers in recordings.

A requisition is in course from its deposit until it finishes (``models.FINISHED``): undecided
(submitted, under review: the room checks that the footage asked for is there and is the right
one while the magistrate decides, the windows being held since intake), granted, its package
being built, ready or handed over (the officer may come back about it until the file closes).
A rejected, cancelled, closed or expired requisition allows no replay. Undecided, it covers the
windows asked for; decided, only the windows the magistrate approved, each to its approved part.
A window whose footage was destroyed covers nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import access
from accounts.roles import Right
from cameras.models import Camera
from evidence.models import FINISHED, PENDING, Requisition, Status, Window
from evidence.selectors import readable_ids
from recordings.procedures import Procedure, ProcedureWindow, find

KIND = "requisition"
#: The statuses in which a requisition allows replay within it.
IN_COURSE = frozenset(Status) - FINISHED
DECIDED_IN_COURSE = IN_COURSE - PENDING


def covering(camera: Camera, user: Any = None) -> list[Procedure]:
    """The requisitions in course with a window on ``camera``, each with those windows."""
    windows = (
        Window.objects.filter(camera=camera, destroyed_at__isnull=True)
        .filter(
            Q(requisition__status__in=PENDING)
            | Q(requisition__status__in=DECIDED_IN_COURSE, decision=Window.Decision.APPROVED)
        )
        .select_related("requisition")
        .order_by("requisition__submitted_at", "requisition_id", "starts_at", "pk")
    )
    grouped: dict[int, list[Window]] = {}
    for window in windows:
        grouped.setdefault(window.requisition_id, []).append(window)
    readable = readable_ids(user, [str(pk) for pk in grouped]) if user is not None else set()
    found = []
    for pk, rows in grouped.items():
        requisition = rows[0].requisition
        url = reverse("evidence:requisition_detail", args=[pk]) if str(pk) in readable else ""
        spans = sorted(
            (ProcedureWindow(row.granted_starts_at, row.granted_ends_at) for row in rows),
            key=lambda span: (span.starts_at, span.ends_at),
        )
        found.append(
            Procedure(
                kind=KIND,
                id=pk,
                reference=requisition.reference,
                label=_("Réquisition judiciaire %(reference)s")
                % {"reference": requisition.reference},
                windows=tuple(spans),
                state=str(requisition.get_status_display()),
                url=url,
            )
        )
    return found


def replay_links(requisition: Requisition, windows: list[Window], user: Any) -> dict[int, str]:
    """For the requisition's page: window pk → the replay page of its camera with this
    requisition and this window chosen, for each window the person may replay within it now
    (replay right on the camera, window covered by the requisition in course)."""
    if requisition.status not in IN_COURSE:
        return {}
    links: dict[int, str] = {}
    found: dict[int, Procedure | None] = {}
    for window in windows:
        camera = window.camera
        if camera.pk not in found:
            allowed = access.decide(user, Right.REPLAY, camera)
            found[camera.pk] = find(camera, KIND, requisition.pk, user) if allowed else None
        procedure = found[camera.pk]
        if procedure is None:
            continue
        span = ProcedureWindow(window.granted_starts_at, window.granted_ends_at)
        if span in procedure.windows:
            query = urlencode({"procedure": procedure.key, "plage": procedure.windows.index(span)})
            links[window.pk] = f"{reverse('recordings:replay_camera', args=[camera.code])}?{query}"
    return links
