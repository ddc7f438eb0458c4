from __future__ import annotations

from celery import shared_task

from evidence import export, services


@shared_task(acks_late=True, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 300)
def build_export(export_id: int) -> str:
    """Build one export's package; a second run of the same export does nothing."""
    return export.export_build(export_id).state


@shared_task
def expire_and_close_requisitions() -> list[int]:
    """Expire undecided requisitions and close handed-over ones; both release their holds."""
    return list(services.requisitions_expire_and_close())
