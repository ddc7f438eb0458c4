"""What an approved window is missing: recorder gaps, unrecorded spans, destroyed footage.

The package states it next to the clips (manifest, LISEZMOI.txt, preparation sheet,
procès-verbal de remise), so that an officer never takes a hole in the footage for a cut.
Three kinds, each with its span clipped to the window and its cause in words:

- ``gap``: an interruption the recorder wrote down (stream lost, silence, refused
  reconnection), with the cause it recorded;
- ``destroyed``: footage destroyed by the retention purge (the destruction register's date);
- ``not_recorded``: a span without footage that nothing explains (no recorder held the camera).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cameras.models import Camera
from csu.lib.times import paris_text, utc_iso
from recordings.models import Gap, Segment

#: Consecutive segments closer than this make one recorded span (as on the replay timeline).
TOLERANCE = timedelta(seconds=2)

GAP = "gap"
DESTROYED = "destroyed"
NOT_RECORDED = "not_recorded"


@dataclass(frozen=True)
class Outage:
    start: datetime
    end: datetime
    kind: str
    cause: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def record(self, **extra: Any) -> dict[str, Any]:
        """The stored form (UTC ISO-8601 with Z): what the export row keeps for the PV."""
        return {
            **extra,
            "start": utc_iso(self.start),
            "end": utc_iso(self.end),
            "kind": self.kind,
            "cause": self.cause,
        }


def _merge(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= TOLERANCE:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _minus(
    spans: list[tuple[datetime, datetime]], removed: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """``spans`` without ``removed`` (both sorted, merged); pieces of TOLERANCE or less dropped."""
    result = []
    for start, end in spans:
        cursor = start
        for r_start, r_end in removed:
            if r_end <= cursor or r_start >= end:
                continue
            if r_start - cursor > TOLERANCE:
                result.append((cursor, r_start))
            cursor = max(cursor, r_end)
        if end - cursor > TOLERANCE:
            result.append((cursor, end))
    return result


def window_outages(
    camera: Camera, start: datetime, end: datetime, *, now: datetime | None = None
) -> list[Outage]:
    """The outages of ``camera`` inside [start, end), in time order (the future is not one)."""
    end = min(end, now or timezone.now())
    if end <= start:
        return []
    overlap = {"camera": camera, "started_at__lt": end, "ended_at__gt": start}
    stored = _merge(
        (max(a, start), min(b, end))
        for a, b in Segment.objects.filter(state=Segment.State.STORED, **overlap).values_list(
            "started_at", "ended_at"
        )
    )
    outages: list[Outage] = []
    gaps = Gap.objects.filter(camera=camera, started_at__lt=end).exclude(ended_at__lte=start)
    for gap in gaps.order_by("started_at", "pk"):
        a, b = max(gap.started_at, start), min(gap.ended_at or end, end)
        if b > a:
            outages.append(Outage(a, b, GAP, gap.reason))
    destroyed_rows = (
        Segment.objects.filter(state=Segment.State.DESTROYED, **overlap)
        .order_by("started_at")
        .values_list("started_at", "ended_at", "destroyed_at")
    )
    by_date: dict[datetime | None, list[tuple[datetime, datetime]]] = {}
    for a, b, destroyed_at in destroyed_rows:
        by_date.setdefault(destroyed_at, []).append((max(a, start), min(b, end)))
    destroyed_spans = []
    for destroyed_at, spans in by_date.items():
        for a, b in _merge(spans):
            destroyed_spans.append((a, b))
            outages.append(
                Outage(
                    a,
                    b,
                    DESTROYED,
                    _("Images détruites le %(date)s à l'échéance de leur durée de conservation")
                    % {"date": paris_text(destroyed_at)},
                )
            )
    holes = _minus([(start, end)], stored)
    explained = _merge([(o.start, o.end) for o in outages])
    for a, b in _minus(holes, explained):
        outages.append(
            Outage(
                a,
                b,
                NOT_RECORDED,
                _(
                    "Aucun enregistrement conservé et aucune interruption signalée par "
                    "l'enregistreur (enregistreur arrêté ou caméra non enregistrée)"
                ),
            )
        )
    return sorted(outages, key=lambda o: (o.start, o.end))


def duration_text(seconds: float | None) -> str:
    """« 1 h 02 min 05 s », « 3 min 20 s », « 4,5 s »: a duration as people read it."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".", ",")
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    return f"{minutes} min {secs:02d} s"
