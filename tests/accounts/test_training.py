"""Training of the people who view images (CSI L255-1): held per person, required by default,
and without a training in force no habilitation opens an image."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.access import decide, scope
from accounts.actors import SystemActor
from accounts.forms import HabilitationCreateForm
from accounts.models import Habilitation, Training, TrainingState, training_state
from accounts.roles import Role
from accounts.services import (
    training_record,
    training_remind,
    training_reminders_due,
)
from accounts.tasks import remind_trainings
from audit.models import AuditEvent
from csu.celery import app as celery_app
from tests.cameras.factories import CameraFactory
from tests.conftest import sign_in
from tests.factories import HabilitationFactory, TrainingFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db


class Camera:
    code = "CAM-001"
    sector = "centre"


CAMERA = Camera()
ACTOR = SystemActor("tests")


def expired_person(role: str):
    person = UserFactory(role=role)
    HabilitationFactory(
        user=person,
        all_cameras=True,
        can_live=True,
        can_replay=True,
        can_extract=role == Role.SUPERVISOR,
        last_training_on=timezone.localdate() - timedelta(days=3 * 365 + 1),
    )
    return person


def test_an_operator_whose_training_lapsed_cannot_view_live():
    operator = expired_person(Role.OPERATOR)
    decision = decide(operator, "live", CAMERA)
    assert not decision
    assert "Formation échue" in decision.reason and "L255-1" in decision.reason
    assert scope(operator, "live").empty


def test_a_supervisor_whose_training_lapsed_can_neither_replay_nor_extract():
    supervisor = expired_person(Role.SUPERVISOR)
    assert not decide(supervisor, "replay", CAMERA)
    assert not decide(supervisor, "extract", CAMERA)
    assert scope(supervisor, "extract").empty


def test_recording_a_refresher_restores_the_rights():
    supervisor = expired_person(Role.SUPERVISOR)
    training_record(
        user=supervisor,
        held_on=timezone.localdate() - timedelta(days=1),
        kind=Training.Kind.REFRESHER,
        organisation="CNFPT",
        attestation_reference="ATT-2026-17",
        actor=ACTOR,
    )
    for right in ("live", "replay", "extract"):
        assert decide(supervisor, right, CAMERA), right
    event = AuditEvent.objects.get(action="training.recorded")
    assert event.details["attestation_reference"] == "ATT-2026-17"


def test_a_habilitation_without_any_training_opens_nothing():
    operator = UserFactory(role=Role.OPERATOR)
    HabilitationFactory(user=operator, all_cameras=True, last_training_on=None)
    decision = decide(operator, "live", CAMERA)
    assert not decision and "Aucune formation" in decision.reason


def test_the_training_is_the_persons_not_the_habilitations():
    operator = UserFactory(role=Role.OPERATOR)
    TrainingFactory(user=operator, held_on=timezone.localdate() - timedelta(days=20))
    HabilitationFactory(user=operator, all_cameras=True, last_training_on=None)
    assert decide(operator, "live", CAMERA)


def test_the_requirement_can_be_lifted_by_setting(settings):
    settings.TRAINING_REQUIRED = False
    operator = expired_person(Role.OPERATOR)
    assert decide(operator, "live", CAMERA)


def test_a_training_counts_from_its_date_not_before():
    """Time travel: the day before the training, the person was not trained yet."""
    operator = UserFactory(role=Role.OPERATOR)
    day = timezone.localdate() - timedelta(days=5)
    HabilitationFactory(user=operator, all_cameras=True, last_training_on=day)
    assert decide(operator, "live", CAMERA)
    assert not decide(operator, "live", CAMERA, at=timezone.now() - timedelta(days=6))


def test_a_training_in_the_future_is_refused_in_french():
    operator = UserFactory(role=Role.OPERATOR)
    with pytest.raises(ValidationError) as error:
        training_record(
            user=operator, held_on=timezone.localdate() + timedelta(days=1), actor=ACTOR
        )
    assert "dans le futur" in str(error.value)
    assert not Training.objects.exists() and not AuditEvent.objects.exists()


def test_a_habilitation_takes_no_training_date_the_persons_training_is_entered_apart(
    client, admin_user
):
    """The training belongs to the person: the habilitation's form and API no longer take one."""
    operator = UserFactory(role=Role.OPERATOR)
    assert "last_training_on" not in HabilitationCreateForm.base_fields
    assert not hasattr(Habilitation, "last_training_on")
    day = timezone.localdate() - timedelta(days=30)
    sign_in(client, admin_user)
    page = client.get(reverse("accounts:habilitation_create")).content.decode()
    assert "last_training_on" not in page and "Dernière formation" not in page
    response = client.post(
        reverse("accounts:habilitation_create"),
        {
            "user": operator.pk,
            "decision_reference": "ARR-1",
            "issuer": "Maire",
            "valid_from": day.isoformat(),
            "valid_until": (day + timedelta(days=300)).isoformat(),
            "all_cameras": "on",
            "can_live": "on",
            "last_training_on": day.isoformat(),  # a stale form's field changes nothing
        },
    )
    assert response.status_code == 302
    assert not Training.objects.filter(user=operator).exists()
    assert not decide(operator, "live", CAMERA)
    api = _api(admin_user)
    refused = api.post(
        "/api/habilitations/",
        {
            "user": operator.pk,
            "decision_reference": "ARR-2",
            "issuer": "Maire",
            "valid_from": day.isoformat(),
            "valid_until": (day + timedelta(days=300)).isoformat(),
            "all_cameras": True,
            "can_live": True,
            "last_training_on": day.isoformat(),
        },
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "/api/users/{id}/trainings/" in refused.json()["last_training_on"][0]
    assert not Habilitation.objects.filter(decision_reference="ARR-2").exists()


def test_training_states(settings):
    settings.TRAINING_VALIDITY_DAYS = 365
    today = date(2026, 11, 30)
    assert training_state(None, today) == TrainingState.NONE
    assert training_state(today - timedelta(days=100), today) == TrainingState.VALID
    assert training_state(today - timedelta(days=320), today) == TrainingState.EXPIRING
    assert training_state(today - timedelta(days=365), today) == TrainingState.EXPIRING
    assert training_state(today - timedelta(days=366), today) == TrainingState.EXPIRED
    settings.TRAINING_VALIDITY_DAYS = 0
    assert training_state(today - timedelta(days=5000), today) == TrainingState.VALID


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_each_persons_training_dates_over():
    """Accounts 0004 turned the dates written on habilitations into the persons' trainings
    before 0005 dropped the column: run it on the schema it was written for."""
    migration = importlib.import_module("accounts.migrations.0004_trainings")
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0004_trainings")])
    try:
        old_apps = executor.loader.project_state([("accounts", "0004_trainings")]).apps
        User = old_apps.get_model("accounts", "User")
        Habilitation = old_apps.get_model("accounts", "Habilitation")
        first, second = (
            User.objects.create(username=name, role=Role.OPERATOR) for name in ("one", "two")
        )
        old, recent = date(2024, 3, 1), date(2026, 2, 1)
        for user, day in ((first, old), (first, recent), (first, recent), (second, None)):
            Habilitation.objects.create(
                user=user,
                decision_reference=f"ARR-{user.pk}-{day}",
                issuer="Maire",
                valid_from=date(2024, 1, 1),
                valid_until=date(2027, 1, 1),
                can_live=True,
                last_training_on=day,
            )
        migration.carry_training_dates_over(old_apps, None)
        Training = old_apps.get_model("accounts", "Training")
        carried = list(Training.objects.order_by("held_on").values_list("user", "held_on", "kind"))
        assert carried == [
            (first.pk, old, "initial"),
            (first.pk, recent, "refresher"),
        ]
        migration.carry_training_dates_over(old_apps, None)
        assert Training.objects.count() == 2
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_habilitation_pages_show_the_persons_training_state(client, admin_user):
    lapsed = expired_person(Role.OPERATOR)
    habilitation = lapsed.habilitations.get()
    sign_in(client, admin_user)
    listing = client.get(reverse("accounts:habilitation_list")).content.decode()
    detail = client.get(
        reverse("accounts:habilitation_detail", args=[habilitation.pk])
    ).content.decode()
    person = client.get(reverse("accounts:user_detail", args=[lapsed.pk])).content.decode()
    for page in (listing, detail, person):
        assert "formation échue" in page


def test_a_lapsing_training_is_reminded_once_per_threshold(settings, mailoutbox):
    settings.TRAINING_VALIDITY_DAYS = 365
    settings.TRAINING_REMINDER_DAYS = [60, 30]
    admin = UserFactory(role=Role.ADMIN, email="admin@mairie.example")
    operator = UserFactory(role=Role.OPERATOR, email="agent@mairie.example")
    training = TrainingFactory(user=operator, held_on=date(2026, 1, 10))  # lapses 2027-01-10
    assert training_reminders_due(date(2026, 11, 10)) == []  # 61 days before
    due = training_reminders_due(date(2026, 11, 11))  # 60 days before
    assert due == [(training, 60)]
    assert training_remind(training=training, threshold=60, actor=ACTOR)
    assert not training_remind(training=training, threshold=60, actor=ACTOR)
    assert training_reminders_due(date(2026, 11, 20)) == []
    assert len(mailoutbox) == 1
    assert set(mailoutbox[0].to) == {operator.email, admin.email}
    assert "10/01/2027" in mailoutbox[0].subject
    assert training_reminders_due(date(2026, 12, 11)) == [(training, 30)]
    assert training_remind(training=training, threshold=30, actor=ACTOR)
    assert training_reminders_due(date(2027, 1, 5)) == []
    assert AuditEvent.objects.filter(action="training.reminder").count() == 2


def test_a_refresher_ends_the_reminders_and_an_inactive_account_gets_none(settings):
    settings.TRAINING_VALIDITY_DAYS = 365
    settings.TRAINING_REMINDER_DAYS = [60, 30]
    operator = UserFactory(role=Role.OPERATOR)
    TrainingFactory(user=operator, held_on=date(2026, 1, 10))
    gone = UserFactory(role=Role.OPERATOR, is_active=False)
    TrainingFactory(user=gone, held_on=date(2026, 1, 10))
    TrainingFactory(user=operator, held_on=date(2026, 11, 1), kind=Training.Kind.REFRESHER)
    assert training_reminders_due(date(2026, 11, 20)) == []


def test_the_beat_runs_the_reminders_daily():
    entry = celery_app.conf.beat_schedule["accounts-remind-trainings"]
    assert entry["task"] == remind_trainings.name


def test_recording_a_training_is_for_admins_only():
    def url():
        return f"/comptes/utilisateurs/{UserFactory().pk}/formation/"

    check_matrix(
        url=url,
        method="post",
        data={"held_on": "2026-01-15", "kind": Training.Kind.REFRESHER},
        allowed=[Role.ADMIN],
        ok=[302],
    )


def test_the_admin_records_a_refresher_from_the_persons_page(client, admin_user):
    lapsed = expired_person(Role.OPERATOR)
    sign_in(client, admin_user)
    url = reverse("accounts:training_create", args=[lapsed.pk])
    assert url in client.get(reverse("accounts:user_detail", args=[lapsed.pk])).content.decode()
    future = client.post(
        url, {"held_on": (timezone.localdate() + timedelta(days=3)).isoformat(), "kind": "initial"}
    )
    assert future.status_code == 200 and "dans le futur" in future.content.decode()
    missing = client.post(url, {"kind": "refresher"})
    assert (
        missing.status_code == 200
        and not Training.objects.filter(
            user=lapsed, held_on__gte=timezone.localdate() - timedelta(days=3)
        ).exists()
    )
    assert not decide(lapsed, "live", CAMERA)
    done = client.post(
        url,
        {
            "held_on": timezone.localdate().isoformat(),
            "kind": "refresher",
            "organisation": "CNFPT",
            "attestation_reference": "ATT-9",
        },
    )
    assert done.status_code == 302
    assert decide(lapsed, "live", CAMERA)
    event = AuditEvent.objects.get(action="training.recorded")
    assert event.actor_id == admin_user.pk


def test_the_replay_page_refuses_a_lapsed_training_in_words_and_opens_after_a_refresher(client):
    camera = CameraFactory(code="CAM-FORM1")
    supervisor = expired_person(Role.SUPERVISOR)
    page = sign_in(client, supervisor).get(f"/enregistrements/relecture/{camera.code}/")
    assert page.status_code == 403
    assert "Formation échue" in page.content.decode()
    training_record(
        user=supervisor,
        held_on=timezone.localdate(),
        kind=Training.Kind.REFRESHER,
        title="Recyclage vidéoprotection",
        actor=ACTOR,
    )
    assert client.get(f"/enregistrements/relecture/{camera.code}/").status_code == 200


# --- The API: a training is recorded for the person (CSI L255-1) --------------------------------


def _api(user) -> Client:
    response = sign_in(Client(), user).post("/api/auth/token/")
    assert response.status_code == 201, response.content
    return Client(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")


def test_recording_a_training_through_the_api_is_for_admins_only():
    person = UserFactory(role=Role.OPERATOR)
    check_matrix(
        url=lambda: f"/api/users/{UserFactory().pk}/trainings/",
        method="post",
        api=True,
        data={"held_on": "2026-01-15", "kind": Training.Kind.REFRESHER},
        allowed=[Role.ADMIN],
        ok=[201],
    )
    check_matrix(url=f"/api/users/{person.pk}/trainings/", api=True, allowed=[Role.ADMIN, Role.DPO])


def test_the_api_records_a_refresher_audited_and_it_reopens_the_images(admin_user):
    lapsed = expired_person(Role.OPERATOR)
    assert not decide(lapsed, "live", CAMERA)
    response = _api(admin_user).post(
        f"/api/users/{lapsed.pk}/trainings/",
        {
            "held_on": timezone.localdate().isoformat(),
            "kind": "refresher",
            "organisation": "CNFPT",
            "attestation_reference": "ATT-API-1",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "refresher" and body["recorded_by"] == admin_user.username
    assert body["recorded_at"].endswith("Z")
    assert decide(lapsed, "live", CAMERA)
    event = AuditEvent.objects.get(action="training.recorded")
    assert event.actor_id == admin_user.pk and event.target_id == str(lapsed.pk)
    assert event.details["attestation_reference"] == "ATT-API-1"
    listed = _api(admin_user).get(f"/api/users/{lapsed.pk}/trainings/").json()
    assert listed[0]["held_on"] == timezone.localdate().isoformat()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"held_on": "+3", "kind": "initial"}, "held_on", "dans le futur"),
        ({"kind": "initial"}, "held_on", "obligatoire"),
        ({"held_on": "15/01/2026"}, "held_on", "format"),
        ({"held_on": "2026-01-15", "kind": "annual"}, "kind", "valide"),
        ({"held_on": "2026-01-15", "title": "x" * 201}, "title", "200"),
    ],
)
def test_the_api_refuses_a_bad_training_with_a_precise_error(admin_user, body, field, words):
    person = UserFactory(role=Role.OPERATOR)
    if body.get("held_on") == "+3":
        body = {**body, "held_on": (timezone.localdate() + timedelta(days=3)).isoformat()}
    response = _api(admin_user).post(
        f"/api/users/{person.pk}/trainings/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[field])
    assert words in message, message
    assert not Training.objects.filter(user=person).exists()
    assert not AuditEvent.objects.filter(action="training.recorded").exists()


# --- The trainings to renew ---------------------------------------------------------------------


def test_the_trainings_to_renew_are_for_admins_and_the_dpo():
    check_matrix(url="/comptes/formations/", allowed=[Role.ADMIN, Role.DPO])


def test_the_list_shows_lapsed_lapsing_and_missing_trainings_of_habilitated_people(
    settings, signed_in, admin_user
):
    settings.TRAINING_VALIDITY_DAYS = 365
    settings.TRAINING_REMINDER_DAYS = [60, 30]
    today = timezone.localdate()

    def person(name: str, trained_days_ago: int | None, **habilitation) -> object:
        user = UserFactory(role=Role.OPERATOR, last_name=name)
        HabilitationFactory(user=user, last_training_on=None, **habilitation)
        if trained_days_ago is not None:
            TrainingFactory(user=user, held_on=today - timedelta(days=trained_days_ago))
        return user

    lapsed = person("Échu", 400)
    lapsing = person("Bientôt", 320)
    missing = person("Jamais", None)
    person("Formé", 10)
    person("Retiré", 400, revoked_at=timezone.now())
    person("Terminé", 400, valid_until=today - timedelta(days=1))
    gone = person("Parti", 400)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    TrainingFactory(user=UserFactory(role=Role.OPERATOR, last_name="SansHabilitation"))

    response = signed_in(admin_user).get(reverse("accounts:training_list"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.person for r in rows] == [missing, lapsed, lapsing]
    text = response.content.decode()
    table = text[text.index('<table id="trainings">') :]
    assert "aucune formation" in table and "formation échue" in table
    assert "échue depuis 35 jours" in table and "dans 45 jours" in table
    for name in ("Formé", "Retiré", "Terminé", "Parti", "SansHabilitation"):
        assert name not in table, name
    for user in (lapsed, lapsing, missing):
        assert reverse("accounts:training_create", args=[user.pk]) in table

    # The DPO reads it, and has no button to record a training.
    dpo = signed_in(UserFactory(role=Role.DPO)).get(reverse("accounts:training_list"))
    assert "Échu" in dpo.content.decode()
    assert reverse("accounts:training_create", args=[lapsed.pk]) not in dpo.content.decode()

    # A refresher takes the person off the list.
    training_record(user=lapsed, held_on=today, kind=Training.Kind.REFRESHER, actor=ACTOR)
    rows = signed_in(admin_user).get(reverse("accounts:training_list")).context["rows"]
    assert [r.person for r in rows] == [missing, lapsing]
