"""Clock accuracy: the server's clock (which dates every recorded image on arrival) and each
camera's own clock, measured, stored and alerted on.

The server's clock is read from an NTP server when ``CSU_NTP_SERVER`` names one, otherwise
from the system's synchronization state: chrony's when chrony runs, else the kernel's
(``adjtimex``, which every NTP client keeps up to date, with or without systemd). When nothing
can tell, the check says so ("unknown") and alerts: an unverified clock is not an accurate one.
A camera's clock is measured by its recorder from the stream (recordings.remux), one figure per
segment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ntplib
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import SystemActor, record
from cameras.models import Camera
from csu.lib.times import paris_text
from recordings.models import ClockCheck, ClockSource, Segment

SYSTEM = SystemActor("contrôle de l'horloge")


@dataclass(frozen=True)
class Reading:
    """What a source says of the server's clock."""

    source: str
    synchronized: bool | None = None
    offset_ms: float | None = None
    error_ms: float | None = None
    server: str = ""
    detail: str = ""


# --- Reading the server's clock -----------------------------------------------------------------


def _ntp(server: str) -> Reading:
    host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
    try:
        response = ntplib.NTPClient().request(
            host, version=4, port=int(port) if port.isdigit() else "ntp", timeout=3
        )
    except (ntplib.NTPException, OSError) as exc:
        return Reading(
            ClockSource.NTP, server=server, detail=f"serveur NTP injoignable : {exc}"[:300]
        )
    # ntplib's offset is the reference minus the local clock: the server's own offset is its
    # opposite. Root distance bounds the error: half the round trip plus the source's own.
    return Reading(
        ClockSource.NTP,
        synchronized=response.leap != 3,
        offset_ms=-response.offset * 1000,
        error_ms=(response.delay / 2 + response.root_delay / 2 + response.root_dispersion) * 1000,
        server=server,
        detail=f"strate {response.stratum}",
    )


_CHRONY_OFFSET = re.compile(r"^System time\s*:\s*([\d.]+) seconds (fast|slow)", re.M)
_CHRONY_LEAP = re.compile(r"^Leap status\s*:\s*(.+)$", re.M)
_CHRONY_DISTANCE = re.compile(r"^Root (delay|dispersion)\s*:\s*([\d.]+) seconds", re.M)


def chrony_reading(output: str) -> Reading | None:
    """chronyc tracking's words as a reading (None when they are not chrony's)."""
    offset = _CHRONY_OFFSET.search(output)
    leap = _CHRONY_LEAP.search(output)
    if offset is None or leap is None:
        return None
    value = float(offset.group(1)) * (1 if offset.group(2) == "fast" else -1)
    distance = {kind: float(v) for kind, v in _CHRONY_DISTANCE.findall(output)}
    error = distance.get("delay", 0) / 2 + distance.get("dispersion", 0)
    synchronized = leap.group(1).strip() != "Not synchronised"
    return Reading(
        ClockSource.CHRONY,
        synchronized=synchronized,
        offset_ms=value * 1000 if synchronized else None,
        error_ms=error * 1000 if synchronized else None,
        detail=f"chrony : {leap.group(1).strip()}",
    )


def _chrony() -> Reading | None:
    program = shutil.which("chronyc")
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-n", "tracking"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return chrony_reading(done.stdout) if done.returncode == 0 else None


class _Timex(ctypes.Structure):
    """Linux's struct timex (sys/timex.h), read-only use (modes = 0)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("padding", ctypes.c_int * 11),
    ]


STA_UNSYNC = 0x0040
STA_NANO = 0x2000
TIME_ERROR = 5


def kernel_reading(timex: Any, state: int) -> Reading:
    """The kernel's synchronization state as a reading: unsynchronized when an NTP client
    does not discipline the clock (STA_UNSYNC, or TIME_ERROR)."""
    if state < 0:
        return Reading(ClockSource.UNKNOWN, detail="adjtimex indisponible")
    if timex.status & STA_UNSYNC or state == TIME_ERROR:
        return Reading(
            ClockSource.KERNEL,
            synchronized=False,
            detail="noyau : horloge non synchronisée (aucun client NTP ne la discipline)",
        )
    scale = 1_000_000 if timex.status & STA_NANO else 1000  # offset in ns or in µs
    return Reading(
        ClockSource.KERNEL,
        synchronized=True,
        offset_ms=timex.offset / scale,
        error_ms=timex.esterror / 1000,  # esterror is in microseconds
        detail=f"noyau : synchronisée, erreur maximale {timex.maxerror / 1000:.1f} ms",
    )


def _kernel() -> Reading:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError, TypeError):
        return Reading(ClockSource.UNKNOWN, detail="adjtimex indisponible sur ce système")
    timex = _Timex()
    return kernel_reading(timex, adjtimex(ctypes.byref(timex)))


def read_server_clock() -> Reading:
    """The server's clock as the configured NTP server, chrony or the kernel tells it."""
    if settings.NTP_SERVER:
        return _ntp(settings.NTP_SERVER)
    return _chrony() or _kernel()


# --- Storing checks and alerting ----------------------------------------------------------------


def _alerting(reading: Reading) -> bool:
    if reading.synchronized is False or reading.offset_ms is None:
        return True
    return abs(reading.offset_ms) > settings.CLOCK_MAX_OFFSET_MS


def describe(check: ClockCheck) -> str:
    """A check in words, for the dashboard, the registers and the documents (French)."""
    source = str(ClockSource(check.source).label)
    if check.server:
        source += f" ({check.server})"
    if check.offset_ms is None:
        state = "non synchronisée" if check.synchronized is False else "écart inconnu"
        return f"{source} : {state}" + (f" — {check.detail}" if check.detail else "")
    offset = f"{check.offset_ms:+.1f}".replace(".", ",")
    text = f"{source} : écart {offset} ms"
    if check.error_ms is not None:
        error = f"{check.error_ms:.1f}".replace(".", ",")
        text += f" (erreur estimée ±{error} ms)"
    return text


@transaction.atomic
def clock_check_record(*, reading: Reading, checked_at: datetime | None = None) -> ClockCheck:
    """Store one check of the server's clock; the alert's start and end are audited once."""
    previous = ClockCheck.objects.select_for_update().order_by("-checked_at", "-pk").first()
    check = ClockCheck(
        checked_at=checked_at or timezone.now(),
        source=reading.source,
        server=reading.server[:200],
        synchronized=reading.synchronized,
        offset_ms=reading.offset_ms,
        error_ms=reading.error_ms,
        detail=reading.detail[:300],
        alert=_alerting(reading),
    )
    check.full_clean()
    check.save()
    was = previous is not None and previous.alert
    details = {
        "source": check.source,
        "server": check.server,
        "offset_ms": check.offset_ms,
        "error_ms": check.error_ms,
        "synchronized": check.synchronized,
        "threshold_ms": settings.CLOCK_MAX_OFFSET_MS,
    }
    if check.alert and not was:
        record(
            "recording.clock_alert",
            actor=SYSTEM,
            target=check,
            reason=describe(check),
            details=details,
        )
    elif was and not check.alert:
        record(
            "recording.clock_recovered",
            actor=SYSTEM,
            target=check,
            reason=describe(check),
            details=details,
        )
    return check


def server_clock_check() -> ClockCheck:
    """Read the server's clock now and store the check (the beat task's work)."""
    return clock_check_record(reading=read_server_clock())


def current_server_alert() -> ClockCheck | None:
    """The latest check when it alerts (for the dashboard), None otherwise."""
    latest = ClockCheck.objects.order_by("-checked_at", "-pk").first()
    return latest if latest is not None and latest.alert else None


def health_notices() -> list[str]:
    """The server's clock alert for the health board, in the reader's language."""
    check = current_server_alert()
    if check is None:
        return []
    return [
        _(
            "Horloge du serveur hors tolérance (contrôle du %(at)s) : %(what)s. Toutes les "
            "images enregistrées sont datées par cette horloge."
        )
        % {"at": paris_text(check.checked_at), "what": describe(check)}
    ]


@transaction.atomic
def camera_clock_note(
    *, camera_id: int, offset_ms: float, source: str, measured_at: datetime, holder: str
) -> None:
    """Note a camera's clock as its recorder measured it; the alert's start and end (beyond
    CSU_CAMERA_MAX_DRIFT_MS) are audited once."""
    camera = Camera.objects.select_for_update().get(pk=camera_id)
    off = abs(offset_ms) > settings.CAMERA_MAX_DRIFT_MS
    fields: dict[str, Any] = {"clock_offset_ms": offset_ms, "clock_measured_at": measured_at}
    details = {
        "offset_ms": round(offset_ms, 1),
        "source": source,
        "threshold_ms": settings.CAMERA_MAX_DRIFT_MS,
    }
    actor = SystemActor(f"recorder {holder}")
    if off and camera.clock_alert_since is None:
        fields["clock_alert_since"] = measured_at
        record(
            "recording.camera_clock_alert",
            actor=actor,
            target=camera,
            reason=f"horloge de la caméra décalée de {offset_ms / 1000:+.1f} s",
            details=details,
        )
    elif not off and camera.clock_alert_since is not None:
        fields["clock_alert_since"] = None
        record(
            "recording.camera_clock_recovered",
            actor=actor,
            target=camera,
            reason=f"horloge de la caméra revenue à {offset_ms / 1000:+.1f} s",
            details=details,
        )
    Camera.objects.filter(pk=camera_id).update(**fields)


# --- What the documents state -------------------------------------------------------------------


def server_checks_around(start: datetime, end: datetime) -> QuerySet[ClockCheck]:
    """The checks of the server's clock that frame ``start``–``end``: the last one before, those
    during, and the first one after."""
    before = ClockCheck.objects.filter(checked_at__lte=start).order_by("-checked_at", "-pk").first()
    after = ClockCheck.objects.filter(checked_at__gte=end).order_by("checked_at", "pk").first()
    during = ClockCheck.objects.filter(checked_at__gt=start, checked_at__lt=end)
    ids = [c.pk for c in (before, after) if c is not None]
    return (during | ClockCheck.objects.filter(pk__in=ids)).order_by("checked_at", "pk")


def camera_offsets(segments: QuerySet[Segment] | list[Segment]) -> dict[str, Any] | None:
    """The camera's clock over ``segments``: the least and greatest offset measured, and how."""
    ids = [s.pk for s in segments]
    measured = Segment.objects.filter(pk__in=ids, clock_offset_ms__isnull=False)
    figures = measured.aggregate(low=Min("clock_offset_ms"), high=Max("clock_offset_ms"))
    if figures["low"] is None:
        return None
    sources = sorted(set(measured.values_list("clock_source", flat=True)))
    return {
        "min_offset_ms": round(figures["low"], 1),
        "max_offset_ms": round(figures["high"], 1),
        "segments_measured": measured.count(),
        "sources": sources,
    }
