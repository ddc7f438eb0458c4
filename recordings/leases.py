"""One recorder per camera: a lease that the holder renews and anyone may take once it lapses."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from recordings.models import RecorderLease


def _ttl() -> timedelta:
    return timedelta(seconds=settings.RECORDER_LEASE_SECONDS)


def lease_acquire(*, camera_id: int, holder: str) -> bool:
    """Take the camera if nobody holds a live lease on it; a conditional UPDATE decides."""
    now = timezone.now()
    RecorderLease.objects.get_or_create(camera_id=camera_id)
    taken = (
        RecorderLease.objects.filter(camera_id=camera_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now) | Q(holder=holder))
        .update(
            holder=holder,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + _ttl(),
            # Recording from the start: a source that does not answer reports a gap at once,
            # which turns the state to "reconnecting" (no alert for a recorder just starting).
            state=RecorderLease.State.RECORDING,
            last_error="",
        )
    )
    return taken == 1


def lease_renew(*, camera_id: int, holder: str, state: str | None = None) -> bool:
    """Extend the lease; False when another recorder took it over (then stop recording)."""
    now = timezone.now()
    changes: dict[str, object] = {"renewed_at": now, "expires_at": now + _ttl()}
    if state:
        changes["state"] = state
    return RecorderLease.objects.filter(camera_id=camera_id, holder=holder).update(**changes) == 1


def lease_note(*, camera_id: int, holder: str, **changes: object) -> None:
    RecorderLease.objects.filter(camera_id=camera_id, holder=holder).update(**changes)


def lease_release(*, camera_id: int, holder: str, state: str, error: str = "") -> None:
    RecorderLease.objects.filter(camera_id=camera_id, holder=holder).update(
        holder="", expires_at=None, state=state, last_error=error[:500]
    )


def cameras_without_recorder(camera_ids: list[int]) -> list[int]:
    now = timezone.now()
    held = set(
        RecorderLease.objects.filter(camera_id__in=camera_ids, expires_at__gte=now).values_list(
            "camera_id", flat=True
        )
    )
    return [pk for pk in camera_ids if pk not in held]
