from __future__ import annotations

from celery import shared_task

from accounts import services
from accounts.actors import SystemActor

REMINDER = SystemActor("rappel des formations")


@shared_task(name="accounts.tasks.remind_trainings")
def remind_trainings() -> int:
    """Remind people and administrators of trainings about to lapse (once per threshold)."""
    return sum(
        services.training_remind(training=training, threshold=threshold, actor=REMINDER)
        for training, threshold in services.training_reminders_due()
    )
