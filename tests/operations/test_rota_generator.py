"""The six-days-in-seven rota generator: every shift of every day covered, six days of work
then one of rest, no overlap with the rota already planned, all or nothing, audited."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time, timedelta
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from operations import rota, services
from operations.models import RotaSlot
from tests.factories import UserFactory

PATTERN = rota.parse_pattern(rota.DEFAULT_PATTERN)
URL = "/exploitation/planning/generer/"


class Person:
    """Stands for an operator in the pure planning tests."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"op{self.n}"


@pytest.mark.parametrize("people", [6, 7, 8, 9, 12, 20])
@pytest.mark.parametrize("first", [date(2026, 3, 20), date(2026, 10, 20), date(2027, 1, 1)])
def test_every_shift_of_every_day_is_covered_and_nobody_works_seven_days(people, first):
    persons = [Person(n) for n in range(people)]
    last = first + timedelta(days=rota.MAX_DAYS - 1)
    plan = rota.plan(first=first, last=last, people=persons, shifts=PATTERN)
    covered = defaultdict(set)
    days_of = defaultdict(set)
    for slot in plan.slots:
        covered[slot.day].add(slot.shift)
        days_of[slot.person.n].add(slot.day)
    assert all(covered[day] == {0, 1, 2} for day in plan.days)
    for person in persons:
        worked = days_of[person.n]
        for start in plan.days[: len(plan.days) - 6]:
            week = {start + timedelta(days=k) for k in range(7)}
            assert len(week & worked) == 6, (person, start)  # six days in every seven


def test_a_person_keeps_one_shift_and_rests_at_least_sixteen_hours_after_a_night():
    persons = [Person(n) for n in range(8)]
    plan = rota.plan(
        first=date(2026, 10, 1), last=date(2026, 11, 30), people=persons, shifts=PATTERN
    )
    by_person = defaultdict(list)
    for slot in plan.slots:
        by_person[slot.person.n].append(slot)
    for slots in by_person.values():
        assert len({s.shift for s in slots}) == 1
        for before, after in pairwise(slots):
            assert after.starts_at - before.ends_at >= timedelta(hours=16)


def test_nights_end_the_next_morning_in_paris_time_across_the_clock_change():
    persons = [Person(n) for n in range(6)]
    plan = rota.plan(
        first=date(2026, 10, 24), last=date(2026, 10, 25), people=persons, shifts=PATTERN
    )
    night = next(s for s in plan.slots if s.shift == 2 and s.day == date(2026, 10, 24))
    assert timezone.localtime(night.starts_at).time() == time(22)
    assert timezone.localtime(night.ends_at).date() == date(2026, 10, 25)
    assert night.ends_at - night.starts_at == timedelta(hours=9)  # the hour given back at 3:00


def test_two_periods_planned_one_after_the_other_follow_on():
    persons = [Person(n) for n in range(6)]
    first = rota.plan(
        first=date(2026, 1, 1), last=date(2026, 1, 10), people=persons, shifts=PATTERN
    )
    second = rota.plan(
        first=date(2026, 1, 11), last=date(2026, 1, 20), people=persons, shifts=PATTERN
    )
    worked = defaultdict(set)
    for slot in [*first.slots, *second.slots]:
        worked[slot.person.n].add(slot.day)
    for days in worked.values():
        run = longest = 0
        for day in (date(2026, 1, 1) + timedelta(days=k) for k in range(20)):
            run = run + 1 if day in days else 0
            longest = max(longest, run)
        assert longest == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("6-14 14-22 22h", "Vacation mal écrite : « 22h »"),
        ("25-6", "Vacation mal écrite : « 25-6 »"),
        ("6-6", "Vacation mal écrite : « 6-6 »"),
        ("", "Indiquez les vacations"),
    ],
)
def test_a_badly_written_pattern_is_named(text, message):
    with pytest.raises(ValidationError, match=message):
        rota.parse_pattern(text)


def test_the_pattern_takes_minutes():
    assert [s.label for s in rota.parse_pattern("06:30-14:30 14h30-22h30 22:30-6:30")] == [
        "06:30–14:30",
        "14:30–22:30",
        "22:30–06:30",
    ]


def test_too_few_people_to_cover_the_rest_days_is_refused():
    with pytest.raises(ValidationError, match="au moins 6 personnes"):
        rota.plan(
            first=date(2026, 1, 1),
            last=date(2026, 1, 7),
            people=[Person(n) for n in range(5)],
            shifts=PATTERN,
        )


# --- Writing the rota ---------------------------------------------------------------------------


@pytest.fixture
def team(db):
    return [UserFactory(role=Role.OPERATOR, last_name=f"Équipe {n}") for n in range(6)]


def _form(team, first, last, **extra):
    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "operators": [p.pk for p in team],
        "pattern": "6-14 14-22 22-6",
        **extra,
    }


@pytest.mark.django_db
def test_the_supervisor_previews_then_creates_the_rota(supervisor, signed_in, team):
    client = signed_in(supervisor)
    first = timezone.localdate() + timedelta(days=1)
    last = first + timedelta(days=13)
    page = client.get(URL)
    assert page.status_code == 200 and "Aperçu" in page.content.decode()
    preview = client.post(URL, _form(team, first, last, preview="1"))
    assert preview.status_code == 200
    plan = preview.context["plan"]
    assert len(plan.slots) == 14 * 6 - 14 * 6 // 7  # each of six people rests two days in 14
    assert f"Créer les {len(plan.slots)} créneaux" in preview.content.decode()
    assert not RotaSlot.objects.exists()
    created = client.post(URL, _form(team, first, last, create="1", note="Rotation de mars"))
    assert created.status_code == 302 and created["Location"] == "/exploitation/planning/"
    assert RotaSlot.objects.count() == len(plan.slots)
    assert set(RotaSlot.objects.values_list("note", flat=True)) == {"Rotation de mars"}
    event = AuditEvent.objects.get(action="rota.generated")
    assert event.actor_id == supervisor.pk
    assert event.details["slots"] == len(plan.slots)
    assert event.details["shifts"] == ["06:00–14:00", "14:00–22:00", "22:00–06:00"]


@pytest.mark.django_db
def test_an_overlap_with_the_rota_already_planned_refuses_everything(supervisor, signed_in, team):
    first = timezone.localdate() + timedelta(days=1)
    start = timezone.make_aware(timezone.datetime.combine(first, time(12)))
    services.rota_slot_add(
        operator=team[0], starts_at=start, ends_at=start + timedelta(hours=4), actor=supervisor
    )
    response = signed_in(supervisor).post(
        URL, _form(team, first, first + timedelta(days=6), create="1")
    )
    assert response.status_code == 200
    assert "est déjà au planning du" in response.content.decode()
    assert RotaSlot.objects.count() == 1
    assert not AuditEvent.objects.filter(action="rota.generated").exists()


@pytest.mark.django_db
def test_the_page_says_what_is_wrong(supervisor, signed_in, team):
    client = signed_in(supervisor)
    first = timezone.localdate()
    response = client.post(URL, _form(team[:4], first, first - timedelta(days=1), preview="1"))
    assert "La fin de la période précède son début." in response.content.decode()
    response = client.post(URL, _form(team[:4], first, first, preview="1"))
    body = response.content.decode()
    assert "Choisissez au moins 6 personnes" in body
    assert 'name="operators"' in body and "autofocus" in body
    response = client.post(URL, _form(team, first, first, pattern="matin", preview="1"))
    assert "Vacation mal écrite : « matin »" in response.content.decode()
    assert not RotaSlot.objects.exists()


@pytest.mark.django_db
def test_only_room_staff_are_planned(supervisor, team, dpo):
    plan = rota.plan(
        first=date(2030, 1, 1), last=date(2030, 1, 2), people=[*team[:5], dpo], shifts=PATTERN
    )
    with pytest.raises(ValidationError, match="Seuls les opérateurs et chefs de salle"):
        services.rota_generate(plan=plan, actor=supervisor)
    assert not RotaSlot.objects.exists()
