"""Training of the people who view images (CSI L255-1): held per person, required by default,
and without a training in force no habilitation opens an image."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

import pytest
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.access import decide, scope
from accounts.actors import SystemActor
from accounts.models import Training, TrainingState, training_state
from accounts.roles import Role
from accounts.services import (
    habilitation_create,
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


def test_a_training_date_entered_on_a_habilitation_becomes_the_persons():
    operator = UserFactory(role=Role.OPERATOR)
    day = timezone.localdate() - timedelta(days=30)
    habilitation_create(
        user=operator,
        decision_reference="ARR-1",
        issuer="Maire",
        valid_from=day,
        valid_until=day + timedelta(days=300),
        all_cameras=True,
        can_live=True,
        last_training_on=day,
        actor=ACTOR,
    )
    assert list(Training.objects.filter(user=operator).values_list("held_on", flat=True)) == [day]


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


def test_the_migration_carries_each_persons_training_dates_over():
    migration = importlib.import_module("accounts.migrations.0004_trainings")
    first, second = UserFactory(), UserFactory()
    old, recent = date(2024, 3, 1), date(2026, 2, 1)
    HabilitationFactory(user=first, last_training_on=old, training=False)
    HabilitationFactory(user=first, last_training_on=recent, training=False)
    HabilitationFactory(user=first, last_training_on=recent, training=False)
    HabilitationFactory(user=second, last_training_on=None)
    migration.carry_training_dates_over(global_apps, None)
    carried = list(Training.objects.order_by("held_on").values_list("user", "held_on", "kind"))
    assert carried == [
        (first.pk, old, Training.Kind.INITIAL),
        (first.pk, recent, Training.Kind.REFRESHER),
    ]
    migration.carry_training_dates_over(global_apps, None)
    assert Training.objects.count() == 2


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
