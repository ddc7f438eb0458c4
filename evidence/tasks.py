from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from evidence import export, services
from evidence.models import Export

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=4 * 3600, soft_time_limit=4 * 3600 - 300)
def build_export(export_id: int) -> str:
    """Build one export's package; a second run of the same export does nothing."""
    return export.export_build(export_id).state


@shared_task
def expire_and_close_requisitions() -> list[int]:
    """Expire undecided requisitions and close handed-over ones; both release their holds.

    Exports whose worker died mid-run are failed here too (with an alert), hourly.
    """
    export.exports_fail_stalled()
    return list(services.requisitions_expire_and_close())


def enqueue_build(export_id: int) -> None:
    """Queue the build; if the broker refuses, the export fails at once, with an alert.

    Otherwise it would wait "queued" forever for a task that no worker will ever receive.
    """
    try:
        build_export.delay(export_id)
    except OperationalError as exc:
        logger.error("export %s not queued: broker unavailable (%s)", export_id, exc)
        message = _(
            "File d'attente des traitements indisponible : l'extraction n'a pas été lancée. "
            "Réessayez dans quelques minutes."
        )
        with transaction.atomic():
            claimed = Export.objects.filter(pk=export_id, state=Export.State.QUEUED).update(
                state=Export.State.FAILED, error=message, finished_at=timezone.now()
            )
            if claimed:
                services.export_finished(
                    export=Export.objects.select_related("requisition").get(pk=export_id),
                    ok=False,
                    error=message,
                )
        raise services.Conflict(message) from exc
