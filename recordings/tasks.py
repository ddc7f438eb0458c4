from __future__ import annotations

import os
import socket
import threading

from celery import shared_task
from celery.signals import worker_shutting_down

from cameras.models import Camera, CameraStatus
from cameras.services import recording_authorizations_sync
from recordings import clock, leases, playback, purge, recorder

RECORDING_QUEUE = "recording"


#: How long a camera handed back at shutdown waits in the queue for a recorder; past that,
#: beat's dispatch sends it again anyway.
HANDOVER_EXPIRES = 300


@worker_shutting_down.connect
def _stop_recorders(**kwargs: object) -> None:
    # Warm shutdown (SIGTERM): every recorder stores its open segment at once, well within the
    # grace period before the process manager kills the worker.
    recorder.stop_all()


@shared_task(
    name="recordings.tasks.record_camera", time_limit=None, soft_time_limit=None, acks_late=False
)
def record_camera(camera_id: int) -> str:
    """Long-running: records the camera until the lease is lost or the worker stops."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    outcome = recorder.run_recorder(camera_id, holder)
    if outcome == "worker shutting down":
        # Hand the camera back at once: another recorder (or this one, restarted) takes it as
        # soon as it consumes the queue, instead of at beat's next dispatch.
        record_camera.apply_async(args=[camera_id], queue=RECORDING_QUEUE, expires=HANDOVER_EXPIRES)
    return outcome


@shared_task(name="recordings.tasks.dispatch_recorders")
def dispatch_recorders() -> int:
    """Send a recorder for every active camera whose lease lapsed (or never existed), except
    those without an authorization in force: they are marked stopped (once, audited) and resume
    at the first dispatch after a valid authorization is attached."""
    active = list(Camera.objects.filter(status=CameraStatus.ACTIVE).values_list("pk", flat=True))
    refused = recording_authorizations_sync(camera_ids=active)
    orphans = leases.cameras_without_recorder([pk for pk in active if pk not in refused])
    for camera_id in orphans:
        record_camera.apply_async(args=[camera_id], queue=RECORDING_QUEUE, expires=60)
    return len(orphans)


@shared_task(name="recordings.tasks.purge_recordings", bind=True)
def purge_recordings(self) -> dict[str, int | str]:
    """The retention purge (recordings.purge); a run already in progress makes this one a no-op."""
    result = purge.purge_run(job_id=self.request.id or "")
    return {
        "state": result.state,
        "segments": result.segments,
        "keys": result.keys,
        "keks": result.keks,
    }


@shared_task(name="recordings.tasks.sweep_playback_files")
def sweep_playback_files() -> int:
    """Delete the encrypted files of expired playbacks (recordings.playback), on a schedule."""
    return playback.playback_files_sweep()


@shared_task(name="recordings.tasks.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired sessions from the session store: a session holds the one-off keys of
    its playbacks (recordings.playback), which must not outlive it on the server."""
    return playback.expired_sessions_clear()


@shared_task(name="recordings.tasks.check_server_clock", soft_time_limit=30, time_limit=60)
def check_server_clock() -> str:
    """Check the server's clock (NTP query or the system's synchronization state) and store it."""
    return clock.describe(clock.server_clock_check())
