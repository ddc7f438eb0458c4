"""Procedures that cover recorded footage, taken in through the real services, for replay tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from cameras.models import Camera
from compliance import services
from compliance.models import AccessRequest
from evidence.models import Requisition
from tests.evidence.factories import RequisitionFactory

#: A window starts this long before the footage a test watches, so that it covers it whole.
MARGIN = timedelta(seconds=30)


def requisition_covering(
    camera: Camera, start: datetime, end: datetime, *, magistrate=None, **kwargs
) -> Requisition:
    """A requisition deposited by an officer on ``camera`` over [start - MARGIN, end + 2 s],
    never reaching the future (approved in full by ``magistrate`` when given)."""
    ends_at = min(end + timedelta(seconds=2), timezone.now())
    return RequisitionFactory(
        camera=camera,
        starts_at=start - MARGIN,
        ends_at=ends_at,
        approved_by=magistrate,
        **kwargs,
    )


def key(requisition: Requisition) -> str:
    """The value the replay form sends for ``requisition``."""
    return f"requisition:{requisition.pk}"


def access_request_covering(
    camera: Camera, start: datetime, end: datetime, *, dpo, margin: timedelta = MARGIN
) -> AccessRequest:
    """An open access request registered by ``dpo`` for ``camera`` over [start - margin,
    end + margin] (a person gives a period around the moment they were filmed), never reaching
    the future."""
    return services.access_request_create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        identity_document="id_card",
        identity_document_ref="X12345678",
        description="Manteau rouge, côté gauche de l'image.",
        place="Place Saint-Léger",
        starts_at=start - margin,
        ends_at=min(end + margin, timezone.now()),
        cameras=[camera],
        actor=dpo,
    )


def request_key(request: AccessRequest) -> str:
    return f"access_request:{request.pk}"
