"""Clocking in and out, the forgotten clock-out, the rota, who is on duty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from operations import selectors, services
from operations.models import RotaSlot, Shift

pytestmark = pytest.mark.django_db
NOW = "%Y-%m-%dT%H:%M"


def test_clock_in_then_out_and_who_is_on_duty(operator, supervisor):
    services.shift_clock_in(operator=operator, at=timezone.now() - timedelta(hours=1))
    services.shift_clock_in(operator=supervisor)
    assert [s.operator for s in selectors.on_duty()] == [operator, supervisor]
    with pytest.raises(ValidationError, match="déjà en service"):
        services.shift_clock_in(operator=operator)
    shift = services.shift_clock_out(operator=operator)
    assert shift.ended_at and [s.operator for s in selectors.on_duty()] == [supervisor]
    with pytest.raises(ValidationError, match="pas en service"):
        services.shift_clock_out(operator=operator)
    assert AuditEvent.objects.filter(action__startswith="shift.").count() == 3


def test_other_roles_cannot_clock_in(dpo):
    with pytest.raises(ValidationError):
        services.shift_clock_in(operator=dpo)


def test_supervisor_closes_a_forgotten_clock_out_with_a_reason(operator, supervisor, signed_in):
    started = timezone.now() - timedelta(hours=20)
    shift = Shift.objects.create(operator=operator, started_at=started)
    client = signed_in(supervisor)
    url = f"/exploitation/vacations/{shift.pk}/cloturer/"
    end = timezone.localtime(started + timedelta(hours=8))
    response = client.post(url, {"ended_at": end.strftime(NOW), "reason": ""})
    assert "Indiquez le motif de la clôture." in response.content.decode()
    before = timezone.localtime(started - timedelta(hours=1)).strftime(NOW)
    response = client.post(url, {"ended_at": before, "reason": "Oubli"})
    assert "doit suivre la prise de service" in response.content.decode()
    shift.refresh_from_db()
    assert shift.ended_at is None
    response = client.post(url, {"ended_at": end.strftime(NOW), "reason": "Oubli en fin de nuit"})
    assert response.status_code == 302
    shift.refresh_from_db()
    assert shift.closed_by == supervisor and shift.close_reason == "Oubli en fin de nuit"
    assert shift.ended_at == end.replace(second=0, microsecond=0)
    event = AuditEvent.objects.get(action="shift.closed_by_supervisor")
    assert event.reason == "Oubli en fin de nuit" and event.actor_id == supervisor.pk


def test_rota_slots_are_checked(operator, supervisor, signed_in):
    client = signed_in(supervisor)
    start = timezone.localtime() + timedelta(days=1)
    response = client.post(
        "/exploitation/planning/",
        {
            "operator": operator.pk,
            "starts_at": start.strftime(NOW),
            "ends_at": (start - timedelta(hours=1)).strftime(NOW),
        },
    )
    assert "La fin du créneau doit suivre son début." in response.content.decode()
    assert not RotaSlot.objects.exists()
    response = client.post(
        "/exploitation/planning/",
        {
            "operator": operator.pk,
            "starts_at": start.strftime(NOW),
            "ends_at": (start + timedelta(hours=8)).strftime(NOW),
            "note": "Nuit",
        },
    )
    assert response.status_code == 302
    assert str(operator) in client.get("/exploitation/planning/").content.decode()


def test_clock_in_never_redirects_to_another_site(operator, signed_in):
    response = signed_in(operator).post(
        "/exploitation/vacations/prise/", {"next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
