"""Signalements: numbering, quick entry, follow-up, search, CSV export, bad input."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from operations import services
from operations.models import Category, Outcome, ServiceAlert, Signalement, SignalementCounter
from tests.cameras.factories import CameraFactory
from tests.factories import UserFactory

NOW = "%Y-%m-%dT%H:%M"


def _create(actor, **extra):
    data = {
        "category": Category.ACCIDENT,
        "occurred_at": timezone.now(),
        "location": "Avenue de Lyon",
        "description": "Collision.",
    }
    return services.signalement_create(actor=actor, **{**data, **extra})


@pytest.mark.django_db
def test_numbers_follow_each_other_in_the_year_and_restart_each_year(operator):
    year = timezone.localdate().year
    first, second = _create(operator), _create(operator)
    assert first.number == f"{year}-000001" and second.number == f"{year}-000002"
    assert services._next_seq(year + 1) == 1
    assert SignalementCounter.objects.get(year=year).last == 2


@pytest.mark.django_db
def test_a_rolled_back_signalement_gives_its_number_back(operator):
    _create(operator)
    with pytest.raises(RuntimeError), transaction.atomic():
        _create(operator)
        raise RuntimeError
    assert _create(operator).seq == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_gap_free_numbers():
    authors = [UserFactory(role="operator") for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(authors))

    def write(author) -> None:
        try:
            barrier.wait()
            for _ in range(8):
                _create(author)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(a,)) for a in authors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = sorted(Signalement.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, 49))
    assert AuditEvent.objects.filter(action="signalement.created").count() == 48


@pytest.mark.django_db
def test_quick_entry_records_a_signalement_with_the_operator_and_services(operator, signed_in):
    camera = CameraFactory(code="CAM-GARE")
    client = signed_in(operator)
    page = client.get("/exploitation/signalements/nouveau/")
    assert page.status_code == 200
    assert b"autofocus" in page.content
    response = client.post(
        "/exploitation/signalements/nouveau/",
        {
            "category": Category.FIRE,
            "location": "Gare",
            "description": "Poubelle en feu.",
            "cameras": "cam-gare",
            "services": ["pompiers", "police_municipale"],
            "occurred_at": timezone.localtime().strftime(NOW),
        },
    )
    signalement = Signalement.objects.get()
    assert response.status_code == 302 and signalement.number in response["Location"]
    assert signalement.author == operator
    assert list(signalement.cameras.all()) == [camera]
    assert set(signalement.alerts.values_list("service", flat=True)) == {
        "pompiers",
        "police_municipale",
    }
    event = AuditEvent.objects.get(action="signalement.created")
    assert event.actor_id == operator.pk and event.details["cameras"] == ["CAM-GARE"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"category": ""}, "Choisissez une catégorie."),
        ({"location": ""}, "Indiquez le lieu."),
        ({"cameras": "CAM-XX9"}, "Caméra inconnue : CAM-XX9."),
        ({"occurred_at": "demain"}, "Date et heure invalides"),
        ({"occurred_at": "2099-01-01T10:00"}, "ne peut pas être dans le futur"),
    ],
)
def test_bad_quick_entry_says_why_and_saves_nothing(operator, signed_in, data, message):
    form = {
        "category": Category.TRAFFIC,
        "location": "Rond-point",
        "description": "Bouchon.",
        "occurred_at": timezone.localtime().strftime(NOW),
        **data,
    }
    response = signed_in(operator).post("/exploitation/signalements/nouveau/", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Signalement.objects.exists()
    assert not SignalementCounter.objects.filter(last__gt=0).exists()


@pytest.mark.django_db
def test_api_refuses_bad_input_with_400_and_saves_nothing(operator, signed_in):
    client = signed_in(operator)
    for body, field in [
        ({"category": "vol", "location": "x", "description": "y"}, "category"),
        ({"category": "autre", "location": "", "description": "y"}, "location"),
        (
            {"category": "autre", "location": "x", "description": "y", "cameras": ["NOPE"]},
            "cameras",
        ),
        (
            {"category": "autre", "location": "x", "description": "y", "services": ["armée"]},
            "services",
        ),
        (
            {"category": "autre", "location": "x", "description": "y", "occurred_at": "hier"},
            "occurred_at",
        ),
    ]:
        response = client.post(
            "/api/operations/signalements/", body, content_type="application/json"
        )
        assert response.status_code == 400, body
        assert field in response.json(), response.json()
    assert "Catégorie inconnue" in str(
        client.post(
            "/api/operations/signalements/",
            {"category": "vol", "location": "x", "description": "y"},
            content_type="application/json",
        ).json()
    )
    assert not Signalement.objects.exists()


@pytest.mark.django_db
def test_follow_up_arrival_and_closing(operator, signed_in):
    signalement = _create(operator, services=["samu"])
    client = signed_in(operator)
    url = f"/exploitation/signalements/{signalement.number}/"
    alert = ServiceAlert.objects.get()
    early = timezone.localtime(alert.alerted_at - timedelta(hours=1)).strftime(NOW)
    response = client.post(url, {"action": "alert", "service": "samu", "arrived_at": early})
    assert "L&#x27;arrivée ne peut précéder l&#x27;alerte" in response.content.decode()
    later = timezone.localtime(alert.alerted_at + timedelta(minutes=1)).strftime(NOW)
    assert (
        client.post(url, {"action": "alert", "service": "samu", "arrived_at": later}).status_code
        == 302
    )
    assert client.post(url, {"action": "note", "text": "Victime transportée."}).status_code == 302
    assert client.post(url, {"action": "close", "outcome": ""}).status_code == 200
    assert client.post(url, {"action": "close", "outcome": Outcome.CARE}).status_code == 302
    signalement.refresh_from_db()
    assert signalement.outcome == Outcome.CARE and signalement.closed_at
    assert signalement.notes.get().text == "Victime transportée."
    assert ServiceAlert.objects.get().arrived_at is not None
    with pytest.raises(ValidationError, match="déjà clos"):
        services.signalement_close(signalement=signalement, outcome=Outcome.OTHER, actor=operator)


@pytest.mark.django_db
def test_search_filters_and_csv_export(operator, signed_in):
    camera = CameraFactory(code="CAM-PALAIS")
    a = _create(operator, category=Category.FIRE, location="Rue Favre", cameras=[camera])
    _create(operator, category=Category.CRIME, location="Parc du Verney")
    client = signed_in(operator)
    for query, expected in [
        ({"q": a.number}, [a.number]),
        ({"q": "verney"}, ["-000002"]),
        ({"category": "incendie"}, [a.number]),
        ({"camera": "cam-palais"}, [a.number]),
        ({"state": "closed"}, []),
    ]:
        content = client.get("/exploitation/signalements/", query).content.decode()
        for number in expected:
            assert number in content, query
        assert content.count("/exploitation/signalements/20") == len(expected), query
    response = client.get("/exploitation/signalements/", {"category": "incendie", "format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8")
    assert response["Content-Type"].startswith("text/csv")
    lines = body.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{a.number};Incendie;")
    assert "CAM-PALAIS" in lines[1]
    assert AuditEvent.objects.get(action="signalement.exported").details["count"] == 1
    bad = client.get("/exploitation/signalements/", {"start": "2026-05-10", "end": "2026-05-01"})
    assert "La fin de la période précède son début." in bad.content.decode()
