"""The rota of the six-days-in-seven watch: who is on which shift of each day, who rests.

Pure planning, no database: :func:`plan` spreads the chosen people over the day's shifts
(6-14, 14-22, 22-6 by default) so that every shift of every day is covered, each person works
six days then rests one, and the rest days of one shift's people are staggered. A person keeps
one shift for the whole period, so nights are never followed by an early start the next
morning: between two shifts of one person there are always 16 hours at least.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_PATTERN = "6-14 14-22 22-6"
#: A period planned at once: a quarter at most, so that a preview stays readable.
MAX_DAYS = 92
#: The cycle of the watch: six days of work, then one of rest.
CYCLE = 7

_SHIFT = re.compile(r"^(\d{1,2})(?:[:h](\d{2}))?-(\d{1,2})(?:[:h](\d{2}))?$")


@dataclass(frozen=True)
class ShiftHours:
    """One shift of the day, in Paris time; it ends the next day when ``end`` <= ``start``."""

    start: time
    end: time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def is_night(self) -> bool:
        return self.end <= self.start

    def on(self, day: date) -> tuple[datetime, datetime]:
        """The shift on ``day`` in UTC (an hour given back or taken at the clock change counts)."""
        starts = datetime.combine(day, self.start, tzinfo=PARIS)
        ends = datetime.combine(day + timedelta(days=int(self.is_night)), self.end, tzinfo=PARIS)
        return starts.astimezone(UTC), ends.astimezone(UTC)


def parse_pattern(text: str) -> list[ShiftHours]:
    """``6-14 14-22 22-6`` (or ``06:00-14:00 …``): the day's shifts; ValidationError naming
    the bad part."""
    shifts: list[ShiftHours] = []
    for part in (text or "").replace(",", " ").replace(";", " ").split():
        match = _SHIFT.match(part)
        hours = None
        if match:
            h1, m1, h2, m2 = (int(g or 0) for g in match.groups())
            if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) != (h2, m2):
                hours = ShiftHours(time(h1, m1), time(h2, m2))
        if hours is None:
            raise ValidationError(
                _("Vacation mal écrite : « %(part)s » (attendu : début-fin en heures, ex. 6-14).")
                % {"part": part}
            )
        shifts.append(hours)
    if not shifts:
        raise ValidationError(
            _("Indiquez les vacations de la journée, ex. %(ex)s.") % {"ex": DEFAULT_PATTERN}
        )
    return shifts


@dataclass(frozen=True)
class PlannedSlot:
    person: Any
    day: date
    shift: int
    starts_at: datetime
    ends_at: datetime


@dataclass
class Plan:
    first: date
    last: date
    shifts: list[ShiftHours]
    people: list[Any]
    slots: list[PlannedSlot] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def table(self) -> list[dict[str, Any]]:
        """One row a day: the people on each shift, and those resting."""
        by_day: dict[date, list[list[Any]]] = {d: [[] for _ in self.shifts] for d in self.days}
        working: dict[date, set[int]] = {d: set() for d in self.days}
        for slot in self.slots:
            by_day[slot.day][slot.shift].append(slot.person)
            working[slot.day].add(id(slot.person))
        return [
            {
                "day": day,
                "shifts": by_day[day],
                "resting": [p for p in self.people if id(p) not in working[day]],
            }
            for day in self.days
        ]


def shift_of(index: int, shifts: int) -> int:
    """The shift the ``index``-th person chosen holds for the period."""
    return index % shifts


def rests_on(day: date, index: int, people: int, shifts: int) -> bool:
    """Whether the ``index``-th of ``people`` rests on ``day``.

    The people of one shift rest on different days of the week (as far apart as their number
    allows) and the shifts' rest days are shifted from one another; the cycle is counted from
    a fixed origin, so that two periods planned one after the other follow on.
    """
    shift = shift_of(index, shifts)
    group = len(range(shift, people, shifts))
    rank = index // shifts
    return (day.toordinal() + (rank * CYCLE) // group + 2 * shift) % CYCLE == 0


def plan(*, first: date, last: date, people: list[Any], shifts: list[ShiftHours]) -> Plan:
    """The rota of ``people`` over the days ``first`` to ``last`` (included)."""
    if last < first:
        raise ValidationError({"last": _("La fin de la période précède son début.")})
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError(
            {"last": _("Planifiez au plus %(days)s jours à la fois.") % {"days": MAX_DAYS}}
        )
    if len(people) < 2 * len(shifts):
        raise ValidationError(
            {
                "operators": _(
                    "Choisissez au moins %(n)s personnes : deux par vacation, pour que l'une "
                    "couvre le jour de repos de l'autre."
                )
                % {"n": 2 * len(shifts)}
            }
        )
    result = Plan(first=first, last=last, shifts=shifts, people=people)
    for day in result.days:
        for index, person in enumerate(people):
            if rests_on(day, index, len(people), len(shifts)):
                continue
            shift = shift_of(index, len(shifts))
            starts_at, ends_at = shifts[shift].on(day)
            result.slots.append(PlannedSlot(person, day, shift, starts_at, ends_at))
    return result
