from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Habilitation, Service, Training, User
from accounts.roles import Role

PASSWORD = "Un-mot-de-passe-solide-2026!"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"service-{n}")
    name = factory.Sequence(lambda n: f"Service {n}")
    kind = Service.Kind.POLICE_NATIONALE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Prénom"
    last_name = factory.Sequence(lambda n: f"Nom{n}")
    role = Role.OPERATOR
    service = factory.Maybe(
        factory.LazyAttribute(lambda o: o.role == Role.OPJ),
        factory.SubFactory(ServiceFactory),
        None,
    )

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class HabilitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Habilitation
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    decision_reference = factory.Sequence(lambda n: f"ARR-2026-{n:04d}")
    issuer = "Maire de Chambéry"
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=10))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=300))
    all_cameras = False
    sectors: list[str] = factory.LazyFunction(list)
    camera_codes: list[str] = factory.LazyFunction(list)
    can_live = True
    #: The holder's training date (not a field: the training is the person's, CSI L255-1);
    #: recorded as their training unless None or ``training=False``.
    last_training_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=100))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        trained_on = kwargs.pop("last_training_on", None)
        habilitation = super()._create(model_class, *args, **kwargs)
        habilitation._factory_training_on = trained_on
        return habilitation

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        kwargs.pop("last_training_on", None)
        return super()._build(model_class, *args, **kwargs)

    @factory.post_generation
    def training(self, create: bool, extracted: object, **kwargs) -> None:
        """The holder's training date becomes the person's training, as the page records it."""
        trained_on = getattr(self, "_factory_training_on", None)
        if create and trained_on and extracted is not False:
            TrainingFactory(user=self.user, held_on=trained_on)


class TrainingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Training
        django_get_or_create = ("user", "held_on")

    user = factory.SubFactory(UserFactory)
    held_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=100))
    kind = Training.Kind.INITIAL
