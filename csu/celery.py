"""The Celery application; the beat schedule lives here, in code."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")

app = Celery("csu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HOUR = 3600

app.conf.beat_schedule = {
    "audit-sign-chain-head": {
        "task": "audit.tasks.sign_chain_head",
        "schedule": crontab(hour=0, minute=5),
        "options": {"expires": 12 * HOUR},
    },
    "audit-verify-chain": {
        "task": "audit.tasks.verify_chain",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 12 * HOUR},
    },
}
