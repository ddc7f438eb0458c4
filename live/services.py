"""Opening, renewing and closing live viewing sessions; each closed session is one audit event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.roles import Right
from audit import context
from audit.services import record
from cameras.models import Camera
from live.models import EndReason, ViewingSession


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@transaction.atomic
def live_session_open(
    *, camera: Camera, actor: Any, station_ip: str | None, station_agent: str = ""
) -> ViewingSession:
    """A new session for a person habilitated for live viewing of the camera, now."""
    decision = access.decide(actor, Right.LIVE, camera)
    if not decision:
        raise PermissionDenied(decision.reason)
    now = timezone.now()
    session = ViewingSession(
        user=actor,
        camera=camera,
        habilitation=decision.habilitation,
        station_ip=station_ip or None,
        station_agent=station_agent[:300],
        started_at=now,
        last_seen_at=now,
    )
    session.full_clean()
    session.save()
    return session


def live_session_still_allowed(*, session: ViewingSession) -> tuple[bool, str]:
    """Whether the session's person may still watch its camera (habilitation, account, and the
    camera as it stands now: taken off the Police nationale's agreement, it closes that door)."""
    user = get_user_model().objects.filter(pk=session.user_id, is_active=True).first()
    if user is None:
        return False, EndReason.SIGNED_OUT
    camera = Camera.objects.filter(pk=session.camera_id).first()
    if camera is None or not access.decide(user, Right.LIVE, camera):
        return False, EndReason.REVOKED
    return True, ""


def live_session_touch(*, session: ViewingSession) -> None:
    """Renews the session's heartbeat (a conditional update: an ended session stays ended)."""
    ViewingSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        last_seen_at=timezone.now()
    )


@transaction.atomic
def live_session_close(
    *, session: ViewingSession, reason: str, ended_at: datetime | None = None
) -> bool:
    """Ends the session and writes its one audit event; False when it had already ended."""
    ended_at = ended_at or timezone.now()
    updated = ViewingSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=ended_at, end_reason=reason
    )
    if not updated:
        return False
    session.refresh_from_db()
    token = context.bind(
        context.RequestContext(ip=session.station_ip, user_agent=session.station_agent)
    )
    try:
        record(
            "live.session",
            actor=session.user,
            target=session.camera,
            reason=str(EndReason(reason).label),
            details={
                "session": session.pk,
                "started_at": _iso(session.started_at),
                "ended_at": _iso(ended_at),
                "seconds": round((ended_at - session.started_at).total_seconds(), 1),
                "station_ip": session.station_ip,
                "habilitation": session.habilitation_id,
                "end": reason,
            },
        )
    finally:
        context.unbind(token)
    return True


def live_sessions_close_lost(*, now: datetime | None = None) -> int:
    """Ends the sessions whose live process stopped renewing them, at their last renewal."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.CSU_LIVE_SESSION_LOST_SECONDS)
    closed = 0
    for session in ViewingSession.objects.filter(
        ended_at__isnull=True, last_seen_at__lt=horizon
    ).select_related("user", "camera"):
        closed += live_session_close(
            session=session, reason=EndReason.LOST, ended_at=session.last_seen_at
        )
    return closed
