"""Safer and faster entry: confirmations, "arrived now", nothing-changed updates, the cursor on
the field in error, accent-blind search, loosely typed camera codes, no overlapping periods."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.utils import ConnectionHandler
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent
from cameras.codes import code_key, resolve_codes, split_codes
from csu.lib.search import strip_accents
from operations import services
from operations.models import AlertedService, Category, RotaSlot, ServiceAlert, Shift
from tests.cameras.factories import CameraFactory

pytestmark = pytest.mark.django_db
NOW = "%Y-%m-%dT%H:%M"


def _signalement(actor, **extra):
    data = {
        "category": Category.ACCIDENT,
        "occurred_at": timezone.now() - timedelta(minutes=30),
        "location": "Place du Château",
        "description": "Collision à l'entrée de l'Hôtel de ville.",
    }
    return services.signalement_create(actor=actor, **{**data, **extra})


# --- Confirmations ------------------------------------------------------------------------------


def test_ending_a_shift_asks_for_a_confirmation_first(operator, signed_in):
    services.shift_clock_in(operator=operator, at=timezone.now() - timedelta(hours=2))
    client = signed_in(operator)
    asked = client.post("/exploitation/vacations/fin/", {"next": "/exploitation/"})
    assert asked.status_code == 200
    body = asked.content.decode()
    assert "Confirmer la fin de service" in body and 'name="confirm" value="1"' in body
    assert 'href="/exploitation/"' in body  # cancelling goes back where the person was
    assert Shift.objects.get().is_open
    done = client.post("/exploitation/vacations/fin/", {"confirm": "1", "next": "/exploitation/"})
    assert done.status_code == 302 and done["Location"] == "/exploitation/"
    assert not Shift.objects.get().is_open
    assert AuditEvent.objects.filter(action="shift.clocked_out").count() == 1


def test_removing_a_rota_slot_asks_for_a_confirmation_first(operator, supervisor, signed_in):
    start = timezone.now() + timedelta(days=1)
    slot = services.rota_slot_add(
        operator=operator, starts_at=start, ends_at=start + timedelta(hours=8), actor=supervisor
    )
    client = signed_in(supervisor)
    url = f"/exploitation/planning/{slot.pk}/retirer/"
    for asked in (client.get(url), client.post(url)):
        assert asked.status_code == 200
        assert "Confirmer le retrait" in asked.content.decode()
    assert RotaSlot.objects.filter(pk=slot.pk).exists()
    done = client.post(url, {"confirm": "1"})
    assert done.status_code == 302
    assert not RotaSlot.objects.exists()
    assert AuditEvent.objects.filter(action="rota.slot_removed").count() == 1


# --- Services: arrived now, nothing changed ---------------------------------------------------


def test_arrived_now_sets_the_arrival_to_the_servers_time(operator, signed_in):
    signalement = _signalement(
        operator, services=[AlertedService.SAMU, AlertedService.FIRE_BRIGADE]
    )
    client = signed_in(operator)
    url = f"/exploitation/signalements/{signalement.number}/"
    page = client.get(url).content.decode()
    assert page.count("Arrivé maintenant") == 2
    before = timezone.now()
    response = client.post(url, {"action": "arrived", "service": "samu"}, follow=True)
    alert = ServiceAlert.objects.get(service="samu")
    assert before <= alert.arrived_at <= timezone.now()
    body = unescape(response.content.decode())
    assert (
        f"Arrivée de SAMU enregistrée à {timezone.localtime(alert.arrived_at):%d/%m/%Y %H:%M}"
        in body
    )
    assert body.count("Arrivé maintenant") == 1  # the fire brigade is still awaited
    event = AuditEvent.objects.get(action="signalement.service_arrived")
    assert event.actor_id == operator.pk and event.details["service"] == "samu"
    again = client.post(url, {"action": "arrived", "service": "samu"})
    assert "L&#x27;arrivée de ce service est déjà enregistrée" in again.content.decode()
    missing = client.post(url, {"action": "arrived", "service": "police_nationale"})
    assert "Ce service n&#x27;a pas été alerté pour ce signalement." in missing.content.decode()
    assert AuditEvent.objects.filter(action="signalement.service_arrived").count() == 1


def test_arrived_now_through_the_api(operator, signed_in):
    signalement = _signalement(operator, services=[AlertedService.SAMU])
    client = signed_in(operator)
    base = f"/api/operations/signalements/{signalement.number}/services"
    response = client.post(f"{base}/samu/arrived/")
    assert response.status_code == 200, response.content
    alert = ServiceAlert.objects.get()
    assert response.json()["service"] == "samu" and alert.arrived_at is not None
    assert parse_datetime(response.json()["arrived_at"]) == alert.arrived_at
    again = client.post(f"{base}/samu/arrived/")
    assert again.status_code == 400
    assert "déjà enregistrée" in again.json()["arrived_at"][0]
    not_alerted = client.post(f"{base}/pompiers/arrived/")
    assert not_alerted.json() == {"service": ["Ce service n'a pas été alerté pour ce signalement."]}
    assert client.post(f"{base}/tramway/arrived/").json() == {
        "service": ["Service inconnu : tramway."]
    }
    assert (
        client.post("/api/operations/signalements/2000-000001/services/samu/arrived/").status_code
        == 404
    )
    assert AuditEvent.objects.filter(action="signalement.service_arrived").count() == 1


def test_an_update_that_changes_nothing_says_so_and_writes_nothing(operator, signed_in):
    signalement = _signalement(operator, services=[AlertedService.SAMU])
    client = signed_in(operator)
    url = f"/exploitation/signalements/{signalement.number}/"
    events = AuditEvent.objects.count()
    response = client.post(url, {"action": "alert", "service": "samu"}, follow=True)
    body = unescape(response.content.decode())
    assert "Rien n'a changé" in body and "Service mis à jour." not in body
    alert = ServiceAlert.objects.get()
    same = timezone.localtime(alert.alerted_at).strftime(NOW)
    alert.alerted_at = alert.alerted_at.replace(second=0, microsecond=0)
    alert.save()
    response = client.post(
        url, {"action": "alert", "service": "samu", "alerted_at": same}, follow=True
    )
    assert "Rien n'a changé" in unescape(response.content.decode())
    assert AuditEvent.objects.count() == events
    response = client.post(url, {"action": "alert", "service": "pompiers"}, follow=True)
    assert "Service mis à jour." in response.content.decode()


# --- The cursor on the field in error -----------------------------------------------------------


def test_the_cursor_goes_to_the_first_field_in_error(operator, signed_in):
    response = signed_in(operator).post(
        "/exploitation/signalements/nouveau/",
        {"category": Category.FIRE, "location": "", "description": "", "occurred_at": "demain"},
    )
    form = response.context["form"]
    assert form["location"].as_widget().count("autofocus") == 1
    # The category keeps its own autofocus only while nothing is wrong.
    assert "autofocus" not in form["category"].as_widget()
    assert "autofocus" not in form["description"].as_widget()
    assert response.content.decode().count("autofocus") == 1


class _Form(forms.Form):
    name = forms.CharField()
    hidden = forms.CharField(widget=forms.HiddenInput)
    age = forms.IntegerField()


def test_every_form_gets_the_autofocus_from_the_renderer():
    assert "autofocus" not in str(_Form())
    form = _Form({"name": "Élodie", "hidden": "", "age": "trois"})
    assert not form.is_valid()
    assert "autofocus" not in form["hidden"].as_widget()  # hidden: the cursor cannot go there
    assert "autofocus" in form["age"].as_widget() and "autofocus" not in form["name"].as_widget()


class _Refused(forms.Form):
    name = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True}))
    other = forms.CharField(required=False)

    def clean(self):
        raise ValidationError("Refusé dans son ensemble.")


def test_an_error_of_the_whole_form_leaves_the_cursor_where_it_starts():
    form = _Refused({"name": "x"})
    assert not form.is_valid() and form.non_field_errors()
    assert "autofocus" in form["name"].as_widget()
    assert "autofocus" not in form["other"].as_widget()


# --- Accent-blind search ------------------------------------------------------------------------


def test_strip_accents():
    assert strip_accents("Élodie Château, cœur de Chambéry") == "Elodie Chateau, coeur de Chambery"


@pytest.mark.parametrize("q", ["chateau", "CHÂTEAU", "hotel de VILLE", "Hôtel", "chÂteau"])
def test_signalement_search_ignores_accents_and_case_on_page_and_api(operator, signed_in, q):
    found = _signalement(operator)
    _signalement(operator, location="Rue de Boigne", description="Rien à voir.")
    client = signed_in(operator)
    page = client.get("/exploitation/signalements/", {"q": q})
    api = client.get("/api/operations/signalements/", {"q": q})
    assert [s.number for s in page.context["page"].object_list] == [found.number]
    assert [s["number"] for s in api.json()["results"]] == [found.number]


def test_camera_search_ignores_accents_and_case_and_takes_loose_codes(supervisor, signed_in):
    CameraFactory(code="CAM-002", name="Gare", address="Place de la Gare, Chambéry")
    CameraFactory(code="CAM-010", name="Éléphants", address="Fontaine des Éléphants")
    client = signed_in(supervisor)
    for q, expected in [
        ("chambery", ["CAM-002"]),
        ("ELEPHANTS", ["CAM-010"]),
        ("cam 2", ["CAM-002"]),
        ("cam-10", ["CAM-010"]),
    ]:
        api = client.get("/api/cameras/", {"q": q})
        assert api.status_code == 200, api.content
        assert [c["code"] for c in api.json()["results"]] == expected, q
        page = client.get("/cameras/", {"q": q})
        assert [c.code for c in page.context["page"].object_list] == expected, q


def test_sqlite_connections_get_the_same_unaccent():
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    )
    sqlite = handler["default"]
    try:
        with sqlite.cursor() as cursor:
            cursor.execute("SELECT unaccent('Élodie Château'), unaccent(NULL)")
            assert cursor.fetchone() == ("Elodie Chateau", None)
            cursor.execute("SELECT unaccent('Hôtel') LIKE '%hotel%'")
            assert cursor.fetchone() == (1,)
    finally:
        sqlite.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's extension")
def test_postgresql_has_unaccent():
    with connection.cursor() as cursor:
        cursor.execute("SELECT unaccent('Élodie Château')")
        assert cursor.fetchone() == ("Elodie Chateau",)


# --- Camera codes typed loosely -----------------------------------------------------------------


def test_a_typed_list_of_codes_keeps_a_word_and_its_number_together():
    assert split_codes("cam 2, CAM-GARE;cam-3  4 cam") == ["cam 2", "CAM-GARE", "cam-3", "4", "cam"]


def test_code_key():
    assert code_key("cam-2") == code_key("cam 2") == code_key("CAM002") == code_key("CAM-002")
    assert code_key("CAM-002") == "CAM-2" and code_key("2") == "2"
    assert code_key("A1-2") != code_key("A12")


def test_loose_codes_name_their_camera_and_ambiguity_names_none():
    cam2 = CameraFactory(code="CAM-002")
    CameraFactory(code="CAM-003")
    CameraFactory(code="PTZ-003")
    found, unknown = resolve_codes(["cam-2", "cam 2", "CAM002", "2", "Cam-002", "3", "cam-9"])
    assert found == [cam2]
    assert unknown == ["3", "cam-9"]  # 3 could be CAM-003 or PTZ-003


def test_quick_entry_and_filters_take_loose_codes(operator, signed_in):
    camera = CameraFactory(code="CAM-002")
    client = signed_in(operator)
    response = client.post(
        "/exploitation/signalements/nouveau/",
        {
            "category": Category.FIRE,
            "location": "Gare",
            "description": "Fumée.",
            "cameras": "cam 2",
            "occurred_at": timezone.localtime().strftime(NOW),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    signalement = camera.signalements.get()
    for code in ("cam-2", "CAM002", "2"):
        page = client.get("/exploitation/signalements/", {"camera": code})
        api = client.get("/api/operations/signalements/", {"camera": code})
        assert [s.number for s in page.context["page"].object_list] == [signalement.number]
        assert [s["number"] for s in api.json()["results"]] == [signalement.number]
    created = client.post(
        "/api/operations/signalements/",
        {
            "category": "incendie",
            "location": "Gare",
            "description": "Fumée.",
            "cameras": ["cam002"],
        },
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["cameras"] == ["CAM-002"]


# --- Overlapping periods of one person ----------------------------------------------------------


def test_overlapping_rota_slots_of_one_person_are_refused_on_the_page(
    operator, supervisor, signed_in
):
    start = timezone.localtime() + timedelta(days=1)
    services.rota_slot_add(
        operator=operator, starts_at=start, ends_at=start + timedelta(hours=8), actor=supervisor
    )
    later = start + timedelta(hours=6)
    response = signed_in(supervisor).post(
        "/exploitation/planning/",
        {
            "operator": operator.pk,
            "starts_at": later.strftime(NOW),
            "ends_at": (later + timedelta(hours=8)).strftime(NOW),
        },
    )
    body = unescape(response.content.decode())
    assert response.status_code == 200
    assert "deux créneaux d'une même personne ne se chevauchent pas" in body
    assert RotaSlot.objects.count() == 1
    # Back to back is not an overlap.
    services.rota_slot_add(
        operator=operator,
        starts_at=start + timedelta(hours=8),
        ends_at=start + timedelta(hours=16),
        actor=supervisor,
    )


def test_overlapping_rota_slots_of_one_person_are_refused_by_the_api(
    operator, supervisor, signed_in
):
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    client = signed_in(supervisor)

    def add(begin, hours):
        return client.post(
            "/api/operations/rota/",
            {
                "operator": operator.username,
                "starts_at": begin.isoformat(),
                "ends_at": (begin + timedelta(hours=hours)).isoformat(),
            },
            content_type="application/json",
        )

    first = add(start, 8)
    assert first.status_code == 201, first.content
    assert first.json()["operator"] == operator.username
    refused = add(start + timedelta(hours=7), 8)
    assert refused.status_code == 400
    [message] = refused.json()["starts_at"]
    assert "est déjà au planning du" in message and "ne se chevauchent pas" in message
    assert add(start + timedelta(hours=8), 8).status_code == 201  # back to back
    assert RotaSlot.objects.count() == 2
    listed = client.get("/api/operations/rota/").json()
    assert [slot["id"] for slot in listed] == list(
        RotaSlot.objects.order_by("starts_at").values_list("pk", flat=True)
    )
    unknown = client.post(
        "/api/operations/rota/",
        {"operator": "personne", "starts_at": start.isoformat(), "ends_at": start.isoformat()},
        content_type="application/json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["operator"] == ["Aucun opérateur ni chef de salle « personne »."]


def test_a_shift_cannot_start_inside_another_of_the_same_person(operator):
    now = timezone.now()
    Shift.objects.create(
        operator=operator, started_at=now - timedelta(hours=10), ended_at=now - timedelta(hours=2)
    )
    with pytest.raises(ValidationError, match="a déjà une vacation sur cette période"):
        services.shift_clock_in(operator=operator, at=now - timedelta(hours=3))
    services.shift_clock_in(operator=operator, at=now - timedelta(hours=1))
    assert Shift.objects.filter(operator=operator).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's exclusion constraint")
def test_the_database_refuses_overlaps_written_around_the_services(operator, supervisor):
    start = timezone.now() + timedelta(days=1)
    RotaSlot.objects.create(
        operator=operator,
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        created_by=supervisor,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RotaSlot.objects.create(
            operator=operator,
            starts_at=start + timedelta(hours=7),
            ends_at=start + timedelta(hours=9),
            created_by=supervisor,
        )
    now = timezone.now()
    Shift.objects.create(operator=operator, started_at=now - timedelta(hours=5), ended_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Shift.objects.create(operator=operator, started_at=now - timedelta(hours=1))
