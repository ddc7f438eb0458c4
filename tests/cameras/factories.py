from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.qualities import Quality
from cameras.models import Authorization, Camera, CameraKind, PrivacyMask
from cameras.purposes import Purpose


class AuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Authorization

    number = factory.Sequence(lambda n: f"73-2024-DSC-{n:04d}")
    issued_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365))
    expires_on = factory.LazyAttribute(lambda o: o.issued_on + timedelta(days=5 * 365))
    # Every purpose and quality: tests that care about them say which.
    purposes = factory.LazyFunction(lambda: list(Purpose.values))
    qualities = factory.LazyFunction(lambda: list(Quality.values))
    perimeter = "Centre-ville."
    retention_days = 15


class CameraFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Camera

    code = factory.Sequence(lambda n: f"CAM-T{n:03d}")
    name = factory.Sequence(lambda n: f"Caméra de test {n}")
    sector = "Centre-ville"
    kind = CameraKind.DOME
    retention_days = 15
    authorization = factory.SubFactory(AuthorizationFactory)
    stream_url = "rtsp://127.0.0.1:1/live"


class PrivacyMaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrivacyMask

    camera = factory.SubFactory(CameraFactory)
    version = 1
    polygons: list = factory.LazyFunction(list)
    author = None
