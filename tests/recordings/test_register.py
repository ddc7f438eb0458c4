"""The destruction register: pages and API for the DPO and supervisors, filters, the answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from recordings import purge
from recordings.models import DestructionRecord, PurgeRun
from tests.permissions import check_matrix
from tests.recordings.retention import make_camera, record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def purged():
    now = timezone.now()
    first, second = make_camera("CAM-R1", 10), make_camera("CAM-R2", 10)
    old = record_segments(first, now - timedelta(days=12), 3)
    record_segments(second, now - timedelta(days=12), 2)
    kept = record_segments(first, now - timedelta(days=1), 1)
    purge.purge_run(now=now)
    return first, second, old, kept


READERS = [Role.SUPERVISOR, Role.DPO]


def test_register_pages_permission_matrix(purged):
    entry = DestructionRecord.objects.first()
    check_matrix(url="/conservation/destructions/", allowed=READERS)
    check_matrix(url=f"/conservation/destructions/{entry.pk}/", allowed=READERS)


def test_register_api_permission_matrix(purged):
    entry = DestructionRecord.objects.first()
    check_matrix(url="/api/destructions/", allowed=READERS, api=True)
    check_matrix(url=f"/api/destructions/{entry.pk}/", allowed=READERS, api=True)
    check_matrix(url="/api/purge-runs/", allowed=READERS, api=True)
    run = PurgeRun.objects.latest("started_at")
    check_matrix(url=f"/api/purge-runs/{run.pk}/", allowed=READERS, api=True)
    first, _, old, _ = purged
    check_matrix(
        url=f"/api/destructions/status/?camera={first.code}"
        f"&from={old[0].started_at.isoformat().replace('+', '%2B')}"
        f"&to={old[-1].ended_at.isoformat().replace('+', '%2B')}",
        allowed=READERS,
        api=True,
    )


def test_api_filters_by_camera_and_period(purged, dpo, signed_in):
    _, second, old, _ = purged
    client = signed_in(dpo)
    rows = client.get("/api/destructions/", {"camera": second.code}).json()["results"]
    assert [r["camera"] for r in rows] == [second.code] and rows[0]["segment_count"] == 2
    entry = rows[0]
    assert len(entry["digest"]) == 64 and entry["keys"] and entry["job_id"]
    later = timezone.now() + timedelta(days=1)
    assert client.get("/api/destructions/", {"from": later.isoformat()}).json()["count"] == 0
    earlier = old[0].started_at - timedelta(hours=1)
    assert client.get("/api/destructions/", {"to": earlier.isoformat()}).json()["count"] == 0


def test_were_my_images_deleted_and_when(purged, dpo, signed_in):
    first, _, old, _ = purged
    answer = (
        signed_in(dpo)
        .get(
            "/api/destructions/status/",
            {
                "camera": first.code,
                "from": old[0].started_at.isoformat(),
                "to": old[1].ended_at.isoformat(),
            },
        )
        .json()
    )
    entry = DestructionRecord.objects.get(camera=first)
    assert answer["destroyed_segments"] == 2 and answer["kept_segments"] == 0
    assert answer["entries"] == [entry.pk]
    assert answer["first_destroyed_at"] is not None


def test_register_page_answers_for_a_camera_and_a_day(purged, supervisor, signed_in):
    first, _, old, _ = purged
    day = timezone.localdate(old[0].started_at)
    page = signed_in(supervisor).get(
        "/conservation/destructions/",
        {"camera": first.code, "start": f"{day:%Y-%m-%d}", "end": f"{day:%Y-%m-%d}"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "segments détruits" in html and "CAM-R2" not in html.split("<table>")[1]


def test_status_needs_a_camera_and_a_period(purged, dpo, signed_in):
    assert signed_in(dpo).get("/api/destructions/status/").status_code == 400


@pytest.mark.parametrize("url", ["/api/destructions/", "/api/destructions/status/"])
def test_a_camera_code_with_a_nul_byte_is_unknown(signed_in, dpo, url):
    response = signed_in(dpo).get(url, {"camera": "CAM\x00-01"})
    assert response.status_code == 400
    assert list(response.json()) == ["camera"]
