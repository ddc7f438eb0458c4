"""Every pruning row is checked on its own: signed, closed, recorded, and beyond the one before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit import chain, integrity, retention
from audit.models import AuditEvent, AuditPrune
from audit.services import record
from tests.append_only import suspended

pytestmark = pytest.mark.django_db


@pytest.fixture
def pruned(supervisor, monkeypatch):
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(days=500))
    for _ in range(3):
        record("recording.playback", actor=supervisor, reason="r")
    kept = [record("export.started", actor=supervisor) for _ in range(2)]
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(days=400))
    integrity.sign_chain_head()
    monkeypatch.setattr(timezone, "now", real_now)
    record("recording.playback", actor=supervisor, reason="récent")
    pruning = retention.prune()
    assert pruning is not None and integrity.verify_chain().ok
    return pruning, kept


def test_a_replayed_pruning_row_is_named_even_with_its_copied_signature(pruned):
    pruning, kept = pruned
    copy = AuditPrune.objects.get(pk=pruning.pk)
    copy.pk = None
    copy.open = True
    copy.save(force_insert=True)
    AuditEvent.objects.filter(seq=kept[0].seq).delete()  # the open copy lets the triggers through
    AuditPrune.objects.filter(pk=copy.pk).update(open=False)
    record(
        "audit.pruned",
        actor_name="celery:prune_audit",
        target=copy,
        details={"horizon_seq": copy.horizon_seq, "deleted": copy.deleted_count},
    )
    result = integrity.verify_chain()
    assert not result.ok
    assert result.problems[0].startswith(f"pruning #{copy.pk} (up to event #{copy.horizon_seq})")
    assert "does not go beyond the pruning before it" in result.problems[0]


def test_the_record_of_a_pruning_is_never_pruned_itself(pruned):
    pruning, _ = pruned
    recorded = AuditEvent.objects.get(action="audit.pruned")
    expired = AuditEvent.objects.filter(retention.expired(timezone.now() + timedelta(days=5000)))
    assert expired.filter(action="recording.playback").exists()
    assert not expired.filter(action="audit.pruned").exists()
    assert recorded.target_id == str(pruning.pk)


def test_kept_events_that_follow_each_other_below_the_horizon_must_link(pruned):
    _, kept = pruned
    second = AuditEvent.objects.get(seq=kept[1].seq)
    fields = {name: getattr(second, name) for name in chain.HASHED_FIELDS}
    forged_prev = "f" * 64
    with suspended():
        AuditEvent.objects.filter(pk=second.pk).update(
            prev_hash=forged_prev, hash=chain.event_hash(forged_prev, fields)
        )
    result = integrity.verify_chain()
    assert result.problems == [f"event #{second.seq} does not link to the event before it"]
