"""Time travel: a lowering of a camera's retention never destroys footage earlier than the
retention it was recorded under."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from cameras import retention, services
from cameras.models import Authorization, RetentionChange
from compliance import pack
from recordings import purge
from recordings.models import Segment
from tests.factories import UserFactory
from tests.recordings.retention import assert_consistent, make_camera, record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _camera(code: str, days: int = 15):
    camera = make_camera(code, retention_days=days)
    camera.authorization = Authorization.objects.create(
        number=f"73-{code}",
        issued_on=timezone.localdate() - timedelta(days=30),
        expires_on=timezone.localdate() + timedelta(days=1000),
        purposes=["atteintes_personnes_biens"],
        qualities=["operateur_csu"],
        perimeter="Centre-ville.",
        retention_days=30,
    )
    camera.save()
    return camera


def _ask(camera, days: int) -> RetentionChange:
    camera.refresh_from_db()
    services.camera_update(
        camera=camera, actor=UserFactory(role=Role.SUPERVISOR), retention_days=days
    )
    return RetentionChange.objects.get(camera=camera, state=RetentionChange.State.PENDING)


def _stored(segments) -> list[bool]:
    return [Segment.objects.get(pk=s.pk).state == Segment.State.STORED for s in segments]


def test_a_lowering_not_validated_destroys_nothing_more():
    now = timezone.now()
    camera = _camera("CAM-L01")
    older = record_segments(camera, now - timedelta(days=10), 3)
    _ask(camera, 7)

    result = purge.purge_run(now=now)
    assert result.segments == 0 and _stored(older) == [True] * 3
    # Later still, the retention in force stays 15 days.
    assert purge.purge_run(now=now + timedelta(days=4)).segments == 0
    assert_consistent(now + timedelta(days=4))
    assert purge.purge_run(now=now + timedelta(days=5, minutes=5)).segments == 3


def test_a_validated_lowering_never_destroys_footage_recorded_before_it():
    now = timezone.now()
    camera = _camera("CAM-L02")
    before = record_segments(camera, now - timedelta(days=2), 3)
    retention.retention_change_validate(change=_ask(camera, 7), actor=UserFactory(role=Role.DPO))
    after = record_segments(camera, now + timedelta(hours=1), 3)

    # A week later: what was recorded after the validation goes, what was recorded before
    # keeps its 15 days.
    week = now + timedelta(days=7, hours=2)
    result = purge.purge_run(now=week)
    assert result.segments == 3
    assert _stored(after) == [False] * 3 and _stored(before) == [True] * 3
    assert_consistent(week)

    # The footage recorded before goes once its own 15 days are over.
    assert purge.purge_run(now=now + timedelta(days=12, hours=23)).segments == 0
    assert purge.purge_run(now=now + timedelta(days=13, hours=1)).segments == 3
    assert _stored(before) == [False] * 3
    assert_consistent(now + timedelta(days=13, hours=1))


def test_a_refused_lowering_changes_nothing():
    now = timezone.now()
    camera = _camera("CAM-L03")
    after = record_segments(camera, now + timedelta(hours=1), 2)
    retention.retention_change_refuse(
        change=_ask(camera, 7), actor=UserFactory(role=Role.DPO), note="Non justifié"
    )
    assert purge.purge_run(now=now + timedelta(days=10)).segments == 0
    assert _stored(after) == [True, True]


def test_successive_lowerings_each_keep_their_footage(settings):
    settings.MIN_RETENTION_DAYS = 3
    now = timezone.now()
    camera = _camera("CAM-L04", days=20)
    dpo = UserFactory(role=Role.DPO)
    first = record_segments(camera, now - timedelta(days=1), 2)  # kept 20 days
    retention.retention_change_validate(change=_ask(camera, 10), actor=dpo)
    RetentionChange.objects.filter(camera=camera).update(decided_at=now)
    second = record_segments(camera, now + timedelta(hours=1), 2)  # kept 10 days
    retention.retention_change_validate(change=_ask(camera, 3), actor=dpo)
    RetentionChange.objects.filter(camera=camera, new_days=3).update(
        decided_at=now + timedelta(days=1)
    )
    third = record_segments(camera, now + timedelta(days=1, hours=1), 2)  # kept 3 days

    purge.purge_run(now=now + timedelta(days=4, hours=2))
    assert (_stored(first), _stored(second), _stored(third)) == (
        [True, True],
        [True, True],
        [False, False],
    )
    purge.purge_run(now=now + timedelta(days=10, hours=2))
    assert (_stored(first), _stored(second)) == ([True, True], [False, False])
    purge.purge_run(now=now + timedelta(days=19, hours=1))
    assert _stored(first) == [False, False]
    assert_consistent(now + timedelta(days=19, hours=1))


def test_the_audit_pack_reports_footage_kept_under_its_longer_retention_as_compliant():
    now = timezone.now()
    camera = _camera("CAM-L05")
    before = record_segments(camera, now - timedelta(days=10), 2)
    retention.retention_change_validate(change=_ask(camera, 7), actor=UserFactory(role=Role.DPO))
    assert purge.purge_run(now=now).segments == 0

    line = {line.camera: line for line in pack.retention_compliance(now)}["CAM-L05"]
    assert line.status == "not_due" and line.retention_days == 15
    assert line.due_at == before[0].ended_at + timedelta(days=15)
