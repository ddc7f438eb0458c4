"""The alarm queue's sources: the states the scan turns into alarms, and the integrity failures.

Every minute (``operations.tasks.scan_alarms``) the scan reads the states that need the room:
cameras in bad health, cameras not recorded and the server's clock, authorizations near their
end, stalled or failed extractions, undecided requisitions near their deadline. Each cause
present raises its alarm or folds into its open one; a cause gone for ALARM_CLEAR_MINUTES closes
its alarm (closed by the system). Integrity failures are events, not states: each one reported
(``audit.signals.integrity_failure``) raises or folds an alarm that a person closes.

Titles and details are written in French, the language of the room's registers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.services import SystemActor, record
from cameras import selectors as camera_selectors
from cameras.models import Camera, CameraStatus, HealthStatus
from csu.lib.times import paris_text
from evidence.models import GRANTED, PENDING, Export, Requisition
from evidence.packages import STALLED_AFTER
from operations import selectors
from operations.models import ALARM_OPEN, Alarm, AlarmKind, AlarmPriority, AlarmState
from recordings import clock

logger = logging.getLogger(__name__)

#: Who closes the alarms whose cause has cleared, in the audit trail.
SYSTEM_ACTOR = SystemActor("file des alarmes")


@dataclass(frozen=True)
class Cause:
    """Why an alarm is raised: its kind, the key that folds its occurrences, what it says."""

    kind: str
    key: str
    priority: int
    title: str
    detail: str = ""
    camera: Camera | None = None


#: Health states that raise an alarm, and how urgent each is.
HEALTH_PRIORITY: dict[str, int] = {
    HealthStatus.UNREACHABLE: AlarmPriority.URGENT,
    HealthStatus.BLACK: AlarmPriority.URGENT,
    HealthStatus.FROZEN: AlarmPriority.HIGH,
    HealthStatus.MOVED: AlarmPriority.HIGH,
    HealthStatus.BLURRED: AlarmPriority.NORMAL,
    HealthStatus.LOW_RATE: AlarmPriority.NORMAL,
}


def _when(moment: datetime | None) -> str:
    return paris_text(moment, seconds=False)


# --- Sources ------------------------------------------------------------------------------------


def camera_health_causes(now: datetime) -> Iterator[Cause]:
    """Cameras in service whose last health check found them down or degraded."""
    cameras = Camera.objects.filter(
        status=CameraStatus.ACTIVE, health_status__in=list(HEALTH_PRIORITY)
    ).order_by("code")
    for camera in cameras:
        yield Cause(
            kind=AlarmKind.CAMERA_HEALTH,
            key=f"camera_health:{camera.pk}",
            priority=HEALTH_PRIORITY[camera.health_status],
            title=_("Caméra %(code)s (%(name)s) : %(state)s")
            % {
                "code": camera.code,
                "name": camera.name,
                "state": camera.get_health_status_display().lower(),
            },
            detail=_("Secteur %(sector)s ; dernière vérification le %(when)s.")
            % {"sector": camera.sector or "—", "when": _when(camera.health_checked_at)},
            camera=camera,
        )


def _recording_reason(camera: Camera, state: str) -> str:
    if state == "unauthorized":
        return _("arrêtée faute d'autorisation en vigueur")
    if state == "none":
        return _("aucun enregistreur ne la prend en charge")
    if state == "lapsed":
        return _("le bail de son enregistreur a expiré")
    if state == "silent":
        return _("son enregistreur n'écrit plus de segment")
    return _("enregistreur : %(state)s") % {
        "state": str(camera.recorder_lease.get_state_display()).lower()
    }


def recording_causes(now: datetime) -> Iterator[Cause]:
    """Cameras in service that are not recorded (a gap in the recordings grows), and the
    server's clock out of tolerance (every image is dated by it)."""
    for camera in selectors.recording_alerts(now):
        state = selectors.recording_state(camera, now)
        lease = getattr(camera, "recorder_lease", None)
        last_segment = lease.last_segment_at if lease else None
        yield Cause(
            kind=AlarmKind.RECORDING,
            key=f"recording:{camera.pk}",
            priority=AlarmPriority.NORMAL if state == "unauthorized" else AlarmPriority.HIGH,
            title=_("Caméra %(code)s non enregistrée : %(reason)s")
            % {"code": camera.code, "reason": _recording_reason(camera, state)},
            detail=(
                _("Dernier segment enregistré le %(when)s.") % {"when": _when(last_segment)}
                if last_segment
                else _("Aucun segment enregistré.")
            ),
            camera=camera,
        )
    server_clock = clock.current_server_alert()
    if server_clock is not None:
        yield Cause(
            kind=AlarmKind.RECORDING,
            key="recording:server_clock",
            priority=AlarmPriority.HIGH,
            title=_("Horloge du serveur hors tolérance"),
            detail=clock.describe(server_clock),
        )


def authorization_causes(now: datetime) -> Iterator[Cause]:
    """Expiry alerts of the prefectoral authorizations that nobody has acknowledged yet."""
    for alert in camera_selectors.authorization_alerts_open():
        authorization = alert.authorization
        if alert.threshold == 0:
            priority = AlarmPriority.URGENT
            title = _("Autorisation préfectorale %(number)s expirée le %(date)s")
        else:
            priority = AlarmPriority.HIGH if alert.threshold <= 30 else AlarmPriority.NORMAL
            title = _("Autorisation préfectorale %(number)s : expire le %(date)s")
        codes = ", ".join(camera.code for camera in authorization.cameras.all())
        yield Cause(
            kind=AlarmKind.AUTHORIZATION,
            key=f"authorization:{alert.pk}",
            priority=priority,
            title=title
            % {"number": authorization.number, "date": alert.expires_on.strftime("%d/%m/%Y")},
            detail=_("Caméras couvertes : %(codes)s. Renouveler l'arrêté (CSI L252-4).")
            % {"codes": codes or "—"},
        )


def export_causes(now: datetime) -> Iterator[Cause]:
    """Extractions stuck in the queue or in a run that no longer progresses, and granted
    requisitions whose last extraction failed (to be started again)."""
    queued_limit = now - timedelta(minutes=settings.ALARM_EXPORT_QUEUED_MINUTES)
    stuck = (
        Export.objects.filter(state=Export.State.QUEUED, created_at__lt=queued_limit)
        | Export.objects.filter(state=Export.State.RUNNING, started_at__lt=now - STALLED_AFTER)
    ).select_related("requisition")
    latest = Export.objects.filter(requisition=OuterRef("requisition")).order_by(
        "-created_at", "-pk"
    )
    failed = (
        Export.objects.filter(state=Export.State.FAILED, requisition__status__in=GRANTED)
        .filter(pk=Subquery(latest.values("pk")[:1]))
        .select_related("requisition")
    )
    seen: set[int] = set()
    for export in [*stuck.order_by("pk"), *failed.order_by("pk")]:
        if export.requisition_id in seen:
            continue
        seen.add(export.requisition_id)
        reference = export.requisition.reference
        if export.state == Export.State.FAILED:
            title = _("Extraction de la réquisition %(ref)s échouée : à relancer") % {
                "ref": reference
            }
            since = export.finished_at
        else:
            title = _("Extraction de la réquisition %(ref)s bloquée (%(state)s)") % {
                "ref": reference,
                "state": str(export.get_state_display()).lower(),
            }
            since = export.started_at or export.created_at
        yield Cause(
            kind=AlarmKind.EXPORT,
            key=f"export:{export.requisition_id}",
            priority=AlarmPriority.HIGH,
            title=title,
            detail=_("Depuis le %(when)s.") % {"when": _when(since)},
        )


def requisition_causes(now: datetime) -> Iterator[Cause]:
    """Requisitions awaiting the magistrate within ALARM_REQUISITION_DAYS of their decision
    deadline, or past it (the footage stays held; the magistrate is to be called)."""
    days = settings.EVIDENCE_DECISION_DAYS
    nearing = now - timedelta(days=days) + timedelta(days=settings.ALARM_REQUISITION_DAYS)
    for requisition in Requisition.objects.filter(
        status__in=PENDING, submitted_at__lt=nearing
    ).order_by("submitted_at", "pk"):
        deadline = requisition.submitted_at + timedelta(days=days)
        late = deadline <= now
        yield Cause(
            kind=AlarmKind.REQUISITION,
            key=f"requisition:{requisition.pk}",
            priority=AlarmPriority.HIGH if late else AlarmPriority.NORMAL,
            title=(
                _("Réquisition %(ref)s sans décision : délai dépassé depuis le %(date)s")
                if late
                else _("Réquisition %(ref)s : décision attendue avant le %(date)s")
            )
            % {"ref": requisition.reference, "date": _when(deadline)},
            detail=_("Déposée le %(when)s ; délai de décision de %(days)s jours.")
            % {"when": _when(requisition.submitted_at), "days": days},
        )


#: Each kind the scan follows, and the source that reads its causes.
SOURCES: dict[str, Callable[[datetime], Iterator[Cause]]] = {
    AlarmKind.CAMERA_HEALTH: camera_health_causes,
    AlarmKind.RECORDING: recording_causes,
    AlarmKind.AUTHORIZATION: authorization_causes,
    AlarmKind.EXPORT: export_causes,
    AlarmKind.REQUISITION: requisition_causes,
}


# --- Raising, folding, closing ------------------------------------------------------------------


def _open_alarm(key: str) -> Alarm | None:
    return (
        Alarm.objects.select_for_update()
        .filter(cause_key=key, state__in=ALARM_OPEN)
        .order_by("pk")
        .first()
    )


def _fold(alarm: Alarm, cause: Cause, now: datetime, *, occurrence: bool) -> Alarm:
    alarm.priority = cause.priority
    alarm.title = cause.title[:300]
    alarm.detail = cause.detail
    if cause.camera is not None:
        alarm.camera = cause.camera
    alarm.last_seen_at = max(alarm.last_seen_at, now)
    if occurrence:
        alarm.count += 1
    alarm.cleared_at = None
    alarm.save(
        update_fields=[
            "priority",
            "title",
            "detail",
            "camera",
            "last_seen_at",
            "count",
            "cleared_at",
        ]
    )
    return alarm


def alarm_raise(cause: Cause, *, now: datetime, occurrence: bool = True) -> Alarm:
    """Raise the alarm of ``cause``, or fold it into the cause's open alarm: a new occurrence
    (``occurrence``) counts one more; a cause still present only brings ``last_seen_at`` on.
    A cause the scan had found gone (``cleared_at``) and that is back is a new occurrence."""
    with transaction.atomic():
        alarm = _open_alarm(cause.key)
        if alarm is not None:
            return _fold(alarm, cause, now, occurrence=occurrence or alarm.cleared_at is not None)
        try:
            with transaction.atomic():
                return Alarm.objects.create(
                    kind=cause.kind,
                    cause_key=cause.key,
                    priority=cause.priority,
                    title=cause.title[:300],
                    detail=cause.detail,
                    camera=cause.camera,
                    first_seen_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            # Raised at the same moment by another process: fold into the one it opened.
            alarm = _open_alarm(cause.key)
            if alarm is None:
                raise
            return _fold(alarm, cause, now, occurrence=occurrence)


@dataclass
class ScanResult:
    raised: int = 0
    folded: int = 0
    cleared: int = 0
    closed: int = 0
    #: The kinds whose source failed (logged; their alarms left as they were).
    failed: list[str] = field(default_factory=list)


def alarm_scan(*, now: datetime | None = None) -> ScanResult:
    """Read every source once: raise or fold the alarms of the causes present, mark the open
    alarms whose cause is gone, close those gone for ALARM_CLEAR_MINUTES. Idempotent."""
    now = now or timezone.now()
    result = ScanResult()
    causes: dict[str, Cause] = {}
    read: list[str] = []
    with translation.override(settings.LANGUAGE_CODE):
        for kind, source in SOURCES.items():
            # A source that fails leaves the others working, and its own alarms as they were.
            try:
                causes.update({cause.key: cause for cause in source(now)})
            except Exception:
                logger.exception("alarm source %s failed", kind)
                result.failed.append(kind)
            else:
                read.append(kind)
    open_keys = set(Alarm.objects.filter(state__in=ALARM_OPEN).values_list("cause_key", flat=True))
    for cause in causes.values():
        alarm_raise(cause, now=now, occurrence=False)
        if cause.key in open_keys:
            result.folded += 1
        else:
            result.raised += 1
    gone = Alarm.objects.filter(state__in=ALARM_OPEN, kind__in=read).exclude(
        cause_key__in=list(causes)
    )
    result.cleared = gone.filter(cleared_at__isnull=True).update(cleared_at=now)
    cutoff = now - timedelta(minutes=settings.ALARM_CLEAR_MINUTES)
    with transaction.atomic():
        due = list(
            gone.filter(cleared_at__lte=cutoff).select_for_update().values_list("pk", flat=True)
        )
        result.closed = Alarm.objects.filter(pk__in=due, state__in=ALARM_OPEN).update(
            state=AlarmState.CLOSED, closed_at=now, closed_by_system=True
        )
        if result.closed:
            with translation.override(settings.LANGUAGE_CODE):
                reason = ngettext(
                    "Cause disparue depuis %(minutes)s minute.",
                    "Cause disparue depuis %(minutes)s minutes.",
                    settings.ALARM_CLEAR_MINUTES,
                ) % {"minutes": settings.ALARM_CLEAR_MINUTES}
            record(
                "alarm.closed_by_system",
                actor=SYSTEM_ACTOR,
                target_type="operations.alarm",
                reason=reason,
                details={"alarms": due, "count": result.closed},
            )
    return result


# --- Integrity failures -------------------------------------------------------------------------


def _integrity_title(detector: str) -> str:
    titles = {
        "audit.chain_broken": _("Journal d'audit : chaîne rompue"),
        "recording.integrity_failed": _("Enregistrement altéré : segment illisible ou modifié"),
        "recording.purge_refused": _(
            "Purge des enregistrements refusée : index et stockage en désaccord"
        ),
        "export.verification_failed": _("Extraction : vérification du paquet en échec"),
    }
    return titles.get(detector, _("Défaut d'intégrité détecté"))


def on_integrity_failure(sender: Any, **kwargs: Any) -> None:
    """Receiver of ``audit.signals.integrity_failure``: the same failure detected again folds
    into its open alarm. In a savepoint, so that a failure here leaves the detector's own
    transaction whole."""
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        alarm_raise(
            Cause(
                kind=AlarmKind.INTEGRITY,
                key=f"integrity:{kwargs['key']}"[:200],
                priority=AlarmPriority.URGENT,
                title=_integrity_title(kwargs["detector"]),
                detail=str(kwargs["summary"])[:2000],
            ),
            now=kwargs.get("at") or timezone.now(),
        )
