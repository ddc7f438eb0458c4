"""The Celery application; the beat schedule lives here, in code."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")

app = Celery("csu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HOUR = 3600

app.conf.beat_schedule = {
    # CSI L255-1: the person and the administrators hear of a training about to lapse.
    "accounts-remind-trainings": {
        "task": "accounts.tasks.remind_trainings",
        "schedule": crontab(hour=8, minute=5),
        "options": {"expires": 12 * HOUR},
    },
    # RGPD art. 12.3: access requests answered within a month; the DPO is reminded daily.
    "compliance-remind-access-requests": {
        "task": "compliance.tasks.remind_access_requests",
        "schedule": crontab(hour=8, minute=0),
        "options": {"expires": 12 * HOUR},
    },
    # RGPD art. 33: a breach is notified within 72 hours; reminders 24 h and 6 h before, and late.
    "compliance-remind-breaches": {
        "task": "compliance.tasks.remind_breaches",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 10 * 60},
    },
    # RGPD art. 35: the DPO hears once of each reason to review the impact assessment.
    "compliance-remind-impact-assessment": {
        "task": "compliance.tasks.remind_impact_assessment",
        "schedule": crontab(hour=8, minute=10),
        "options": {"expires": 12 * HOUR},
    },
    # Audit events past their retention are pruned up to a signed checkpoint.
    "audit-prune-events": {
        "task": "audit.tasks.prune_audit_events",
        "schedule": crontab(hour=4, minute=10),
        "options": {"expires": 12 * HOUR},
    },
    # The application's own records past their period are deleted or anonymised (audit.records).
    "audit-purge-records": {
        "task": "audit.tasks.purge_records",
        "schedule": crontab(hour=4, minute=50),
        "options": {"expires": 12 * HOUR},
    },
    "audit-sign-chain-head": {
        "task": "audit.tasks.sign_chain_head",
        "schedule": crontab(hour=0, minute=5),
        "options": {"expires": 12 * HOUR},
    },
    # The signed head, written outside the database every few minutes: a truncation of the
    # newest events shows against it (audit.anchor). A late run is replaced by the next one.
    "audit-anchor-chain-head": {
        "task": "audit.tasks.anchor_chain_head",
        "schedule": timedelta(minutes=settings.AUDIT_ANCHOR_MINUTES),
        "options": {"expires": 60 * settings.AUDIT_ANCHOR_MINUTES * 0.9},
    },
    "recordings-dispatch": {
        "task": "recordings.tasks.dispatch_recorders",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "audit-verify-chain": {
        "task": "audit.tasks.verify_chain",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 12 * HOUR},
    },
    # Operators must see a dead camera within the minute; a late round is useless.
    "cameras-check-health": {
        "task": "cameras.tasks.check_cameras_health",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # CSI L252-5: footage past its retention goes within minutes, not at the next night.
    "recordings-purge": {
        "task": "recordings.tasks.purge_recordings",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Undecided requisitions are escalated, handed-over ones close after the grace period.
    "evidence-expire-and-close": {
        "task": "evidence.tasks.expire_and_close_requisitions",
        "schedule": crontab(minute=20),
        "options": {"expires": 50 * 60},
    },
    # Access-request extracts left behind by an answer (or a stopped process) are destroyed.
    "compliance-sweep-access-request-extracts": {
        "task": "compliance.tasks.sweep_access_request_extracts",
        "schedule": crontab(hour=4, minute=40),
        "options": {"expires": 12 * HOUR},
    },
    # Playback files of expired tokens go within minutes, not at someone's next playback.
    "recordings-sweep-playback-files": {
        "task": "recordings.tasks.sweep_playback_files",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    # Expired sessions (and the playback keys they hold) leave the session store every hour.
    "recordings-clear-expired-sessions": {
        "task": "recordings.tasks.clear_expired_sessions",
        "schedule": crontab(minute=40),
        "options": {"expires": 50 * 60},
    },
    # Every image is dated by the server's clock: its offset is checked and stored (alert
    # beyond CSU_CLOCK_MAX_OFFSET_MS). A late check is replaced by the next one.
    "recordings-check-server-clock": {
        "task": "recordings.tasks.check_server_clock",
        "schedule": timedelta(minutes=settings.CLOCK_CHECK_MINUTES),
        "options": {"expires": 60 * settings.CLOCK_CHECK_MINUTES * 0.9},
    },
    # The room's alarm queue follows camera health, recording, authorizations, extractions and
    # requisitions within the minute; a late scan is replaced by the next one.
    "operations-scan-alarms": {
        "task": "operations.tasks.scan_alarms",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "cameras-authorization-alerts": {
        "task": "cameras.tasks.record_authorization_alerts",
        "schedule": crontab(hour=6, minute=30),
        "options": {"expires": 12 * HOUR},
    },
}


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_unsafe_production_start(signal: Any = None, **kwargs: Any) -> None:
    """Workers, recorders and beat stop at start on the demo's leftovers (csu.startup).

    Celery logs and ignores a receiver's exception: SystemExit is what stops the process. The
    message goes to the process's own standard error, which beat has already redirected to its
    logger by then.
    """
    import django

    django.setup()
    # Here, not at the top: this module is imported with the settings, before any app is loaded.
    from csu.startup import refuse_unsafe_start

    process = "Celery beat" if signal is signals.beat_init else "Celery worker"
    try:
        refuse_unsafe_start(process)
    except ImproperlyConfigured as exc:
        print(f"ImproperlyConfigured: {exc}", file=sys.__stderr__, flush=True)
        raise SystemExit(1) from None
