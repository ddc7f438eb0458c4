"""Requisitions decided before the decision was stored get it from their windows."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps as global_apps

from evidence import services
from evidence.models import Requisition, Window
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import night_requisition

pytestmark = pytest.mark.django_db

backfill = import_module("evidence.migrations.0003_decision_and_handover_record").backfill_decisions


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        (["approved", "approved"], "approved"),
        (["approved", "refused"], "partly_approved"),
        (["refused", "refused"], "rejected"),
    ],
)
def test_the_backfill_reads_the_decision_from_the_windows(opj, magistrate, decisions, expected):
    requisition = night_requisition(opj, [CameraFactory(), CameraFactory()])
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    for window, decision in zip(requisition.windows.order_by("pk"), decisions, strict=True):
        Window.objects.filter(pk=window.pk).update(decision=decision)
    Requisition.objects.filter(pk=requisition.pk).update(decision="", status="ready")
    undecided = night_requisition(opj, [CameraFactory(), CameraFactory()], procedure="P-2")
    backfill(global_apps, None)
    requisition.refresh_from_db()
    undecided.refresh_from_db()
    assert requisition.decision == expected
    assert undecided.decision == ""
