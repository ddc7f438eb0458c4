from __future__ import annotations

from celery import shared_task

from compliance import services
from compliance.models import AccessRequest


@shared_task(name="compliance.tasks.remind_access_requests")
def remind_access_requests() -> int:
    """Remind the DPO of every open access request near or past its deadline (once a day)."""
    sent = 0
    for request in services.due_for_reminder():
        if services.access_request_remind(request=AccessRequest.objects.get(pk=request.pk)):
            sent += 1
    return sent


@shared_task(name="compliance.tasks.sweep_access_request_extracts")
def sweep_access_request_extracts() -> dict[str, int]:
    """Destroy extracts left by answered requests and files no request points to."""
    destroyed, deleted = services.extracts_sweep()
    return {"destroyed": destroyed, "files_deleted": deleted}
