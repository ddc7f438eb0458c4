from __future__ import annotations

from celery import shared_task

from compliance import aipd, breaches, services
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


@shared_task(name="compliance.tasks.remind_breaches")
def remind_breaches() -> int:
    """Remind the DPO of each breach whose notification decision nears or passed its 72 hours."""
    sent = 0
    for breach, field in breaches.due_reminders():
        if breaches.breach_remind(breach=breach, field=field):
            sent += 1
    return sent


@shared_task(name="compliance.tasks.remind_impact_assessment")
def remind_impact_assessment() -> int:
    """Remind the DPO of each new reason to review the impact assessment, once each."""
    sent = 0
    for cause in aipd.due_reminders():
        if aipd.impact_assessment_remind(cause=cause):
            sent += 1
    return sent
