"""The magistrate's home page lists what waits for his decision, soonest destroyed first."""

from __future__ import annotations

import pytest

from evidence import services
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import night_requisition

pytestmark = pytest.mark.django_db


def test_the_magistrate_finds_the_requisitions_to_decide_on_his_home_page(
    opj, magistrate, signed_in
):
    cameras = [CameraFactory(code="CAM-DST1"), CameraFactory(code="CAM-DST2")]
    waiting = night_requisition(opj, cameras, procedure="2025/DST-1")
    decided = night_requisition(opj, cameras, procedure="2025/DST-2")
    services.requisition_decide(
        requisition=decided, outcome="reject", window_ids=[], reason="Hors cadre.", actor=magistrate
    )
    page = signed_in(magistrate).get("/accueil/").content.decode()
    queue = page[page.index('id="decision-queue"') :]
    assert f'href="/requisitions/{waiting.pk}/">{waiting.reference}</a>' in queue
    assert decided.reference not in queue


def test_an_empty_queue_says_so(magistrate, signed_in):
    page = signed_in(magistrate).get("/accueil/").content.decode()
    assert "Aucune réquisition en attente." in page
