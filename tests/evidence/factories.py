"""Requisitions taken in through the intake service, as an officer deposits them.

``RequisitionFactory()`` deposits a requisition on one window of an hour that ended an hour ago
(on a new camera unless ``camera`` is given), so its holds, attachment and audit events are the
real ones; ``windows=[...]`` asks for other windows, ``approved_by=magistrate`` has it approved
in full at once.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.roles import Role
from evidence import services
from evidence.models import LegalFrame, Requisition
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import PDF
from tests.factories import UserFactory


def _one_window(o) -> list[services.WindowRequest]:
    camera = o.camera or CameraFactory()
    return [services.WindowRequest(camera.code, o.starts_at, o.ends_at)]


class RequisitionFactory(factory.Factory):
    class Meta:
        model = Requisition

    class Params:
        camera = None
        starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
        ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))

    procedure_number = factory.Sequence(lambda n: f"2026/{n + 1:06d}")
    legal_frame = LegalFrame.FLAGRANCE
    facts = "Vol avec violence place du Palais."
    justification = "Identifier le véhicule des auteurs."
    attachment_name = "requisition.pdf"
    attachment_data = PDF
    windows = factory.LazyAttribute(_one_window)
    actor = factory.SubFactory(UserFactory, role=Role.OPJ)
    signalements: tuple[str, ...] = ()

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("a requisition exists only once taken in: use RequisitionFactory()")

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Requisition:
        return services.requisition_submit(**kwargs)

    @factory.post_generation
    def approved_by(requisition: Requisition, create: bool, magistrate, **kwargs) -> None:
        if magistrate is not None:
            services.requisition_decide(
                requisition=requisition,
                outcome="approve_all",
                reason=kwargs.get("reason", ""),
                actor=magistrate,
            )
