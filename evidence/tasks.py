"""The evidence app's Celery tasks: each calls the services or the builder, and nothing else."""

from __future__ import annotations

from celery import shared_task

from evidence import export, packages, services

#: Celery's limits in seconds; the stalled-export threshold derives from the same duration.
TIME_LIMIT = int(packages.BUILD_TIME_LIMIT.total_seconds())
SOFT_TIME_LIMIT = int(packages.BUILD_SOFT_TIME_LIMIT.total_seconds())


@shared_task(acks_late=True, time_limit=TIME_LIMIT, soft_time_limit=SOFT_TIME_LIMIT)
def build_export(export_id: int) -> str:
    """Build one export's package; a second run of the same export does nothing."""
    return export.export_build(export_id).state


@shared_task
def expire_and_close_requisitions() -> list[int]:
    """Escalate undecided requisitions past their deadline (their holds stay) and close
    handed-over ones after the grace period (their holds are released).

    Exports whose worker died mid-run are failed here too (with an alert), packages nobody
    collected are destroyed and the files of killed builds deleted, hourly.
    """
    services.exports_fail_stalled()
    counts = list(services.requisitions_escalate_and_close())
    services.exports_destroy_unclaimed()
    services.export_files_sweep()
    return counts
