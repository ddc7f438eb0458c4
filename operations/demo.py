"""A generated year of room activity (demonstrations, tests, the dashboard benchmark).

Shifts follow a live watch six days in seven, nights included (06–14, 14–22, 22–06), with one
or two people per slot and start and end times that drift, so that shifts overlap and leave
gaps. Requisitions go through every outcome (refused, handed over, waiting for the room, too
late because the footage was already destroyed) and some name signalements. Everything is
written with bulk_create: a year takes a few seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Service, User
from accounts.qualities import Quality
from accounts.roles import Role
from cameras.models import (
    Authorization,
    Camera,
    CameraKind,
    CameraOutage,
    HealthStatus,
    five_years_after,
)
from cameras.purposes import Purpose
from evidence.models import Export, LegalFrame, Requisition, Status, Window
from operations.models import (
    CATEGORY_PURPOSE,
    AlertedService,
    Category,
    Outcome,
    RequisitionLink,
    ServiceAlert,
    Shift,
    Signalement,
    SignalementCounter,
)
from recordings.models import Hold

SLOTS = (time(6), time(14), time(22))


@dataclass
class Year:
    operators: list[User]
    cameras: list[Camera]
    shifts: int
    signalements: int
    outages: int
    requisitions: int = 0


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _authorization(prefix: str, year: int) -> Authorization:
    """The arrêté the generated cameras are recorded under: in force today (CSI L252-1) and
    from the start of the year when five years allow it."""
    today = timezone.localdate()
    issued = max(min(date(year, 1, 1), today), today - timedelta(days=4 * 365))
    authorization, _created = Authorization.objects.get_or_create(
        number=f"{prefix.upper()}-ARRETE-{year}",
        defaults={
            "issued_on": issued,
            "expires_on": five_years_after(issued),
            "purposes": [
                Purpose.PUBLIC_BUILDINGS,
                Purpose.TRAFFIC_OFFENCES,
                Purpose.PERSONS_AND_PROPERTY,
                Purpose.RESCUE_AND_FIRE,
            ],
            "purposes_details": "Voies et places du centre-ville exposées aux vols et aux "
            "agressions.",
            "qualities": [
                Quality.CSU_OPERATOR,
                Quality.POLICE_MUNICIPALE,
                Quality.POLICE_NATIONALE,
            ],
            "perimeter": f"Caméras {prefix.upper()}-*.",
            "retention_days": 15,
        },
    )
    return authorization


@transaction.atomic
def generate_year(
    year: int,
    *,
    operators: int = 8,
    signalements: int = 7_800,
    cameras: int = 30,
    seed: int = 2024,
    prefix: str = "demo",
    requisitions: int = 0,
) -> Year:
    """Write a year of shifts, signalements, cameras, outages and requisitions; times fall on
    whole minutes."""
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
    authorization = _authorization(prefix, year)
    Camera.objects.bulk_create(
        [
            Camera(
                code=f"{prefix.upper()}-{n:03d}",
                name=f"Caméra {n}",
                sector=f"Secteur {n % 5}",
                kind=CameraKind.DOME,
                authorization=authorization,
                commissioned_on=date(year, 1, 1),
                stream_url=f"rtsp://10.0.{n // 250}.{n % 250}/live",
                health_status=rng.choice([HealthStatus.OK] * 8 + [HealthStatus.FROZEN]),
            )
            for n in range(1, cameras + 1)
        ]
    )
    register = list(Camera.objects.filter(code__startswith=f"{prefix.upper()}-").order_by("pk"))

    shifts = []
    # One person's shifts never overlap (a database constraint): a person still on duty when
    # the next slot starts is not taken for it.
    busy_until: dict[int, datetime] = {}
    day = date(year, 1, 1)
    rest_weekday = rng.randrange(7)
    while day.year == year:
        if day.weekday() != rest_weekday:  # live watch six days in seven
            for slot in SLOTS:
                planned = datetime.combine(day, slot, tzinfo=tz)
                for person in rng.sample(people, rng.choice((1, 1, 2))):
                    start = planned + timedelta(minutes=rng.randint(-40, 40))
                    end = planned + timedelta(hours=8, minutes=rng.randint(-50, 30))
                    if busy_until.get(person.pk, start) > _minute(start):
                        continue
                    busy_until[person.pk] = _minute(end)
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
        category = rng.choice(Category.values)
        rows.append(
            Signalement(
                year=year,
                seq=seq,
                category=category,
                purpose=CATEGORY_PURPOSE.get(category, Purpose.PUBLIC_BUILDINGS),
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
    if requisitions:
        _requisitions(year, requisitions, rng, prefix, register, created)
    return Year(people, register, len(shifts), len(rows), len(outages), requisitions)


#: Share of each fate of a generated requisition (the rest is handed over, then closed).
FATES = (
    ("rejected", 0.10),
    ("cancelled", 0.04),
    ("expired", 0.03),
    ("approved", 0.04),
    ("partly_approved", 0.03),
    ("exporting", 0.02),
    ("ready", 0.04),
)


def _fate(rng: random.Random) -> str:
    draw = rng.random()
    for fate, share in FATES:
        if draw < share:
            return fate
        draw -= share
    return "handed_over"


def _requisitions(
    year: int,
    count: int,
    rng: random.Random,
    prefix: str,
    register: list[Camera],
    signalements: list[Signalement],
) -> None:
    """Requisitions of the year with their windows, holds, exports and signalement links.

    About one in ten comes too late (every window's footage destroyed before intake) and a few
    more are partly late (one window destroyed, one frozen).
    """
    tz = timezone.get_current_timezone()
    now = timezone.now()
    service = Service.objects.create(
        code=f"{prefix}-commissariat",
        name=f"Commissariat {prefix.capitalize()}",
        kind=Service.Kind.POLICE_NATIONALE,
    )
    officer = User.objects.create(
        username=f"{prefix}.officier", last_name="Officier", role=Role.OPJ, service=service
    )
    chief = User.objects.create(
        username=f"{prefix}.chef", last_name="Chef de salle", role=Role.SUPERVISOR
    )
    start = datetime(year, 1, 1, tzinfo=tz)
    seconds = int((datetime(year + 1, 1, 1, tzinfo=tz) - start).total_seconds())
    plans = []
    for n in range(1, count + 1):
        submitted = _minute(start + timedelta(seconds=rng.randrange(seconds)))
        lateness = rng.random()
        window_count = 2 if lateness < 0.12 or rng.random() < 0.3 else 1
        # Footage asked for 1 to 20 days back: beyond the 15 days kept, it may be gone.
        asked = [
            _minute(submitted - timedelta(hours=rng.randint(2, 20 * 24)))
            for _ in range(window_count)
        ]
        if lateness < 0.08:  # too late: every window is gone
            destroyed = [True] * window_count
        elif lateness < 0.12:  # partly late: the first window is gone, not the second
            destroyed = [True, False]
        else:
            destroyed = [False] * window_count
        fate = _fate(rng)
        decided = submitted + timedelta(hours=rng.randint(1, 72))
        handed_over = decided + timedelta(hours=rng.randint(2, 200))
        if fate == "handed_over" and handed_over > now:
            fate = "ready"
        if fate in ("approved", "partly_approved", "exporting", "ready", "rejected") and (
            decided > now
        ):
            fate = "submitted"
        plans.append((n, submitted, asked, destroyed, fate, decided, handed_over))

    rows = []
    for n, submitted, asked, _destroyed, fate, decided, handed_over in plans:
        finished = {
            "rejected": decided,
            "cancelled": submitted + timedelta(hours=3),
            "expired": submitted + timedelta(days=30),
        }.get(fate)
        status = fate
        if fate == "handed_over" and handed_over + timedelta(days=30) < now:
            status = Status.CLOSED
        rows.append(
            Requisition(
                procedure_number=f"{year}/{prefix}/{n:05d}",
                legal_frame=rng.choice(LegalFrame.values),
                officer=officer,
                service=service,
                facts="Faits sur la voie publique.",
                justification="Identifier les auteurs.",
                status=status,
                submitted_at=submitted,
                footage_expires_at=min(asked) + timedelta(days=15),
                decided_at=None if fate in ("submitted", "cancelled", "expired") else decided,
                handed_over_at=handed_over if fate == "handed_over" else None,
                finished_at=finished,
                attachment_name="requisition.pdf",
                attachment_type="application/pdf",
                attachment_size=1024,
                attachment_sha256="0" * 64,
                attachment_path=f"demo/{prefix}/{year}/{n:05d}.pdf",
                attachment_key_id="demo",
                attachment_key=b"",
            )
        )
    Requisition.objects.bulk_create(rows, batch_size=1000)
    made = list(Requisition.objects.filter(service=service).order_by("procedure_number"))
    holds: list[Hold] = []
    windows: list[Window] = []
    for requisition, (_n, _s, asked, destroyed, fate, _d, _h) in zip(made, plans, strict=True):
        for moment, gone in zip(asked, destroyed, strict=True):
            camera = rng.choice(register)
            window = Window(
                requisition=requisition,
                camera=camera,
                starts_at=moment,
                ends_at=moment + timedelta(minutes=rng.randint(10, 120)),
                decision=Window.Decision.REFUSED
                if fate == "rejected"
                else Window.Decision.PENDING
                if fate in ("submitted", "cancelled", "expired")
                else Window.Decision.APPROVED,
            )
            if gone:
                window.unavailable = "Images déjà détruites."
                window.destroyed_at = moment + timedelta(days=15)
            else:
                hold = Hold(
                    camera=camera,
                    starts_at=window.starts_at,
                    ends_at=window.ends_at,
                    basis=Hold.Basis.REQUISITION,
                    reason=f"Réquisition {requisition.reference}",
                    reference_type="evidence.requisition",
                    reference_id=str(requisition.pk),
                    reference_label=requisition.reference,
                    created_by_name="Officier",
                    expires_at=now + timedelta(days=30),
                    released_at=requisition.finished_at,
                    released_by_name="evidence.tasks" if requisition.finished_at else "",
                    release_reason="Réquisition terminée" if requisition.finished_at else "",
                )
                holds.append(hold)
                window.hold = hold
            windows.append(window)
    Hold.objects.bulk_create(holds, batch_size=1000)
    Window.objects.bulk_create(windows, batch_size=1000)
    exports = [
        Export(
            requisition=r,
            state=Export.State.READY,
            progress=100,
            prepared_by=chief,
            finished_at=r.decided_at + timedelta(hours=1),
            released_at=r.decided_at + timedelta(hours=2) if r.handed_over_at else None,
            released_by=chief if r.handed_over_at else None,
        )
        for r in made
        # Decided, as every requisition at these statuses is.
        if r.status in (Status.READY, Status.HANDED_OVER, Status.CLOSED)
        and r.decided_at is not None
    ]
    Export.objects.bulk_create(exports, batch_size=1000)
    if signalements:
        RequisitionLink.objects.bulk_create(
            [
                RequisitionLink(
                    requisition=r,
                    signalement=rng.choice(signalements),
                    linked_by=officer,
                    linked_at=r.submitted_at,
                )
                for r in made
                if rng.random() < 0.6
            ],
            batch_size=1000,
        )
