"""Periodic work of the camera register: health checks and authorization expiry alerts."""

from __future__ import annotations

from celery import shared_task

from cameras import selectors, services


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def check_cameras_health() -> dict[str, str]:
    """Check every camera in service; {code: status}."""
    return services.cameras_check_health()


@shared_task(ignore_result=True)
def record_authorization_alerts() -> int:
    """Close the alerts that no longer stand (renewed or replaced authorizations), then raise
    the 180/90/30-day and expiry alerts not yet raised; how many were new."""
    services.authorization_alerts_settle()
    return sum(
        services.authorization_record_alert(authorization_id=pk)
        for pk in selectors.authorization_alerts().values_list("pk", flat=True)
    )
