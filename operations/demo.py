"""A generated year of room activity (demonstrations, tests, the dashboard benchmark).

Shifts follow a live watch six days in seven, nights included (06–14, 14–22, 22–06), with one
or two people per slot and start and end times that drift, so that shifts overlap and leave
gaps. Everything is written with bulk_create: a year takes a few seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from cameras.models import Camera, CameraKind, CameraOutage, HealthStatus
from operations.models import (
    AlertedService,
    Category,
    Outcome,
    ServiceAlert,
    Shift,
    Signalement,
    SignalementCounter,
)

SLOTS = (time(6), time(14), time(22))


@dataclass
class Year:
    operators: list[User]
    cameras: list[Camera]
    shifts: int
    signalements: int
    outages: int


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@transaction.atomic
def generate_year(
    year: int,
    *,
    operators: int = 8,
    signalements: int = 7_800,
    cameras: int = 30,
    seed: int = 2024,
    prefix: str = "demo",
) -> Year:
    """Write a year of shifts, signalements, cameras and outages; times fall on whole minutes."""
    rng = random.Random(seed)  # noqa: S311 — reproducible sample data, not secrets
    tz = timezone.get_current_timezone()
    User.objects.bulk_create(
        [
            User(
                username=f"{prefix}.op{n}",
                first_name="Opérateur",
                last_name=f"{prefix.capitalize()} {n}",
                role=Role.OPERATOR,
            )
            for n in range(1, operators + 1)
        ]
    )
    people = list(User.objects.filter(username__startswith=f"{prefix}.op").order_by("pk"))
    Camera.objects.bulk_create(
        [
            Camera(
                code=f"{prefix.upper()}-{n:03d}",
                name=f"Caméra {n}",
                sector=f"Secteur {n % 5}",
                kind=CameraKind.DOME,
                stream_url=f"rtsp://10.0.{n // 250}.{n % 250}/live",
                health_status=rng.choice([HealthStatus.OK] * 8 + [HealthStatus.FROZEN]),
            )
            for n in range(1, cameras + 1)
        ]
    )
    register = list(Camera.objects.filter(code__startswith=f"{prefix.upper()}-").order_by("pk"))

    shifts = []
    day = date(year, 1, 1)
    rest_weekday = rng.randrange(7)
    while day.year == year:
        if day.weekday() != rest_weekday:  # live watch six days in seven
            for slot in SLOTS:
                planned = datetime.combine(day, slot, tzinfo=tz)
                for person in rng.sample(people, rng.choice((1, 1, 2))):
                    start = planned + timedelta(minutes=rng.randint(-40, 40))
                    end = planned + timedelta(hours=8, minutes=rng.randint(-50, 30))
                    shifts.append(
                        Shift(operator=person, started_at=_minute(start), ended_at=_minute(end))
                    )
        day += timedelta(days=1)
    Shift.objects.bulk_create(shifts, batch_size=2000)

    start = datetime(year, 1, 1, tzinfo=tz)
    seconds = int((datetime(year + 1, 1, 1, tzinfo=tz) - start).total_seconds())
    occurred = sorted(
        _minute(start + timedelta(seconds=rng.randrange(seconds))) for _ in range(signalements)
    )
    counter, _ = SignalementCounter.objects.get_or_create(year=year)
    base = counter.last
    rows = []
    for seq, moment in enumerate(occurred, start=base + 1):
        closed = rng.random() < 0.97
        rows.append(
            Signalement(
                year=year,
                seq=seq,
                category=rng.choice(Category.values),
                occurred_at=moment,
                location=f"Rue {rng.randint(1, 400)}",
                description="Fait constaté sur les caméras.",
                outcome=rng.choice(Outcome.values) if closed else "",
                author=rng.choice(people),
                created_at=moment + timedelta(minutes=2),
                closed_at=moment + timedelta(minutes=45) if closed else None,
            )
        )
    created = Signalement.objects.bulk_create(rows, batch_size=2000)
    if not created or created[0].pk is None:  # backends that do not return ids
        created = list(Signalement.objects.filter(year=year, seq__gt=base).order_by("seq"))
    SignalementCounter.objects.filter(year=year).update(last=base + len(rows))
    alerts = [
        ServiceAlert(
            signalement=s,
            service=rng.choice(AlertedService.values),
            alerted_at=s.created_at,
            arrived_at=s.created_at + timedelta(minutes=rng.randint(3, 25)),
        )
        for s in created
        if rng.random() < 0.6
    ]
    ServiceAlert.objects.bulk_create(alerts, batch_size=2000)
    links = Signalement.cameras.through
    links.objects.bulk_create(
        [
            links(signalement_id=s.pk, camera_id=rng.choice(register).pk)
            for s in created
            if rng.random() < 0.7
        ],
        batch_size=2000,
    )

    outages = []
    for camera in register:
        moment = start
        while True:
            moment += timedelta(hours=rng.randint(100, 1500))
            if moment.year != year:
                break
            length = timedelta(minutes=rng.randint(10, 60 * 30))
            outages.append(
                CameraOutage(
                    camera=camera,
                    status=HealthStatus.UNREACHABLE,
                    started_at=_minute(moment),
                    ended_at=_minute(moment + length),
                )
            )
            moment += length
    CameraOutage.objects.bulk_create(outages, batch_size=2000)
    return Year(people, register, len(shifts), len(rows), len(outages))
