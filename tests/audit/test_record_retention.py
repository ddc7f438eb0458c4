"""The retention schedule of the application's own records: each kind is deleted or anonymised
after its period and not before, a procedure in course protects what it needs, each run leaves
a register entry and an audit event, and the statistics of a purged year do not move."""

from __future__ import annotations

import html
import shutil
from datetime import UTC, date, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessLog
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.models import Habilitation
from audit import records
from audit.models import AuditEvent, RecordPurge
from audit.tasks import purge_records
from compliance.models import AccessRequest
from compliance.pack import SECTIONS
from compliance.registers import REGISTERS
from csu.celery import app
from evidence import attachments
from evidence.models import FINISHED, DownloadLink, Export, Requisition, Status
from live.models import ViewingSession
from operations.demo import generate_year
from operations.models import (
    FollowUpNote,
    RequisitionLink,
    RotaSlot,
    Shift,
    Signalement,
)
from operations.stats import Period, statistics
from recordings import holds, purge
from recordings.models import Hold, Segment
from tests.cameras.factories import CameraFactory
from tests.evidence.conftest import PDF
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory
from tests.recordings.retention import assert_consistent, make_camera, record_segments

pytestmark = pytest.mark.django_db

#: The moment the records end, far enough from any real clock.
ENDED = datetime(2020, 3, 10, 14, 0, tzinfo=UTC)
KINDS = {"signalements", "shifts", "requisitions", "access_requests", "habilitations", "sign_ins"}


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


def _just_before(slug: str) -> datetime:
    return ENDED + timedelta(days=records.get(slug).days()) - timedelta(hours=1)


def _just_after(slug: str) -> datetime:
    return ENDED + timedelta(days=records.get(slug).days()) + timedelta(hours=1)


def _signalement(author, *, closed_at: datetime | None = ENDED, seq: int = 1) -> Signalement:
    signalement = Signalement.objects.create(
        year=2020,
        seq=seq,
        category="delinquance",
        occurred_at=ENDED - timedelta(hours=2),
        location="12 rue de Boigne, devant la pharmacie",
        description="Homme en veste rouge, environ 30 ans, qui frappe une passante.",
        outcome="intervention" if closed_at else "",
        author=author,
        created_at=ENDED - timedelta(hours=1),
        closed_at=closed_at,
    )
    FollowUpNote.objects.create(
        signalement=signalement, author=author, written_at=ENDED, text="Victime : Mme Durand."
    )
    return signalement


def _requisition(status: str = Status.CLOSED, number: str = "2020/001") -> Requisition:
    officer = UserFactory(role="opj", service=ServiceFactory())
    stored = attachments.store("requisition.pdf", PDF, "application/pdf")
    return Requisition.objects.create(
        procedure_number=number,
        legal_frame="60-1",
        officer=officer,
        service=officer.service,
        facts="Vol à l'arraché au préjudice de M. Dupont.",
        justification="Identifier l'auteur.",
        status=status,
        submitted_at=ENDED - timedelta(days=20),
        decided_at=ENDED - timedelta(days=19),
        decision_reason="Fenêtres utiles à l'enquête.",
        finished_at=ENDED if status != Status.SUBMITTED else None,
        attachment_name=stored.name,
        attachment_type=stored.content_type,
        attachment_size=stored.size,
        attachment_sha256=stored.sha256,
        attachment_path=stored.path,
        attachment_key_id=stored.key_id,
        attachment_key=stored.wrapped_key,
    )


def _access_request(dpo, *, status: str = AccessRequest.Status.ANSWERED) -> AccessRequest:
    return AccessRequest.objects.create(
        requester_last_name="Martin",
        requester_first_name="Claire",
        requester_birth_date=date(1990, 4, 2),
        requester_email="claire.martin@example.org",
        requester_address="3 rue Croix-d'Or, 73000 Chambéry",
        identity_document="id_card",
        identity_document_ref="5678",
        identity_checked_by=dpo,
        identity_checked_at=ENDED - timedelta(days=20),
        description="Manteau rouge, vélo bleu.",
        place="Place Saint-Léger",
        starts_at=ENDED - timedelta(days=21),
        ends_at=ENDED - timedelta(days=21) + timedelta(minutes=30),
        received_at=ENDED - timedelta(days=20),
        deadline=ENDED + timedelta(days=10),
        status=status,
        outcome="no_footage" if status != AccessRequest.Status.OPEN else "",
        answer_text="Madame Claire MARTIN, aucune image..." if status != "open" else "",
        answered_at=ENDED if status != AccessRequest.Status.OPEN else None,
        created_by=dpo,
    )


def test_every_app_declares_its_kinds_with_a_period_and_a_source(settings):
    assert {kind.slug for kind in records.kinds()} == KINDS
    for kind in records.kinds():
        assert kind.days() == settings.RECORD_RETENTION_DAYS[kind.slug]
        assert str(kind.label) and str(kind.source) and str(kind.treatment)
    settings.RECORD_RETENTION_DAYS = {**settings.RECORD_RETENTION_DAYS, "signalements": 400}
    assert records.get("signalements").days() == 400


def test_signalements_are_anonymised_after_their_period_and_not_before(operator):
    signalement = _signalement(operator)
    still_open = _signalement(operator, closed_at=None, seq=2)

    history = LogEntry.objects.get_for_object(signalement)
    assert "12 rue de Boigne" in str(history.get().changes)

    records.purge_kind(records.get("signalements"), at=_just_before("signalements"))
    signalement.refresh_from_db()
    assert signalement.anonymised_at is None and signalement.location.startswith("12 rue")
    assert FollowUpNote.objects.filter(signalement=signalement).exists()

    entry = records.purge_kind(records.get("signalements"), at=_just_after("signalements"))
    signalement.refresh_from_db()
    assert signalement.anonymised_at is not None
    assert signalement.location == signalement.description == ""
    assert not FollowUpNote.objects.filter(signalement=signalement).exists()
    assert not LogEntry.objects.get_for_object(signalement).exists()  # nor in its history
    # What the statistics count stays.
    assert (signalement.category, signalement.occurred_at, signalement.outcome) == (
        "delinquance",
        ENDED - timedelta(hours=2),
        "intervention",
    )
    assert (entry.kind, entry.anonymised, entry.deleted) == ("signalements", 1, 1)
    assert entry.cutoff == _just_after("signalements") - timedelta(
        days=records.get("signalements").days()
    )
    still_open.refresh_from_db()
    assert still_open.anonymised_at is None and still_open.description
    event = AuditEvent.objects.get(action="audit.records_purged", target_id=str(entry.pk))
    assert event.details["anonymised"] == 1 and event.details["kind"] == "signalements"


def test_a_signalement_linked_to_a_requisition_in_course_is_kept_whole(operator):
    signalement = _signalement(operator)
    requisition = _requisition(status=Status.SUBMITTED)
    RequisitionLink.objects.create(
        signalement=signalement, requisition=requisition, linked_at=ENDED
    )

    records.purge_kind(records.get("signalements"), at=_just_after("signalements"))
    signalement.refresh_from_db()
    assert signalement.anonymised_at is None and signalement.description

    Requisition.objects.filter(pk=requisition.pk).update(status=Status.CANCELLED)
    records.purge_kind(records.get("signalements"), at=_just_after("signalements"))
    signalement.refresh_from_db()
    assert signalement.anonymised_at is not None and signalement.description == ""


def test_shifts_lose_the_operator_and_rota_slots_go_after_their_period(operator, supervisor):
    shift = Shift.objects.create(
        operator=operator,
        started_at=ENDED - timedelta(hours=8),
        ended_at=ENDED,
        closed_by=supervisor,
        close_reason="Oubli de M. Operateur",
    )
    slot = RotaSlot.objects.create(
        operator=operator,
        starts_at=ENDED - timedelta(hours=8),
        ends_at=ENDED,
        created_by=supervisor,
    )
    records.purge_kind(records.get("shifts"), at=_just_before("shifts"))
    shift.refresh_from_db()
    assert shift.operator == operator and RotaSlot.objects.filter(pk=slot.pk).exists()

    entry = records.purge_kind(records.get("shifts"), at=_just_after("shifts"))
    shift.refresh_from_db()
    assert shift.operator is None and shift.closed_by is None and shift.close_reason == ""
    assert (shift.started_at, shift.ended_at) == (ENDED - timedelta(hours=8), ENDED)
    assert not RotaSlot.objects.filter(pk=slot.pk).exists()
    assert (entry.anonymised, entry.deleted) == (1, 1)


def test_finished_requisitions_lose_facts_and_scan_after_their_period(
    django_capture_on_commit_callbacks, supervisor, signed_in
):
    requisition = _requisition()
    in_course = _requisition(status=Status.SUBMITTED, number="2020/002")
    path = requisition.attachment_path
    records_of = {r: _handover_record(r, supervisor) for r in (requisition, in_course)}

    with django_capture_on_commit_callbacks(execute=True):
        records.purge_kind(records.get("requisitions"), at=_just_before("requisitions"))
    requisition.refresh_from_db()
    assert requisition.anonymised_at is None and default_storage.exists(path)

    with django_capture_on_commit_callbacks(execute=True):
        entry = records.purge_kind(records.get("requisitions"), at=_just_after("requisitions"))
    requisition.refresh_from_db()
    assert requisition.anonymised_at is not None
    assert requisition.facts == requisition.justification == requisition.decision_reason == ""
    assert "2020/001" not in requisition.procedure_number
    assert not default_storage.exists(path)
    assert requisition.status == Status.CLOSED and requisition.submitted_at is not None
    assert entry.anonymised == 1
    # The procès-verbal de remise named the procedure: dropped, its SHA-256 kept.
    link = records_of[requisition]
    link.refresh_from_db()
    assert link.handover_record is None and link.handover_record_sha256 == "a" * 64
    in_course.refresh_from_db()
    assert in_course.anonymised_at is None and default_storage.exists(in_course.attachment_path)
    kept = records_of[in_course]
    kept.refresh_from_db()
    assert bytes(kept.handover_record) == b"%PDF-1.4 PV 2020/002"


def _handover_record(requisition: Requisition, by) -> DownloadLink:
    export = Export.objects.create(requisition=requisition, prepared_by=by)
    return DownloadLink.objects.create(
        export=export,
        recipient=requisition.officer,
        token_hash=f"{requisition.pk:064d}",
        issued_by=by,
        issued_at=ENDED - timedelta(days=2),
        expires_at=ENDED - timedelta(days=1),
        used_at=ENDED - timedelta(days=1, hours=1),
        handover_record=f"%PDF-1.4 PV {requisition.procedure_number}".encode(),
        handover_record_sha256="a" * 64,
    )


def test_answered_access_requests_lose_the_identity_data_open_ones_are_kept(dpo):
    answered = _access_request(dpo)
    still_open = _access_request(dpo, status=AccessRequest.Status.OPEN)

    records.purge_kind(records.get("access_requests"), at=_just_before("access_requests"))
    answered.refresh_from_db()
    assert answered.requester_last_name == "Martin"

    entry = records.purge_kind(records.get("access_requests"), at=_just_after("access_requests"))
    answered.refresh_from_db()
    for field in (
        "requester_last_name",
        "requester_first_name",
        "requester_email",
        "requester_address",
        "identity_document_ref",
        "description",
        "place",
        "answer_text",
    ):
        assert getattr(answered, field) == "", field
    assert answered.requester_birth_date is None and answered.anonymised_at is not None
    assert answered.received_at == ENDED - timedelta(days=20)
    assert answered.outcome == "no_footage"
    still_open.refresh_from_db()
    assert still_open.requester_last_name == "Martin" and still_open.anonymised_at is None
    assert entry.anonymised == 1


def test_habilitations_of_departed_people_go_after_their_period(admin_user):
    departed = UserFactory(is_active=False)
    present = UserFactory()
    ended = ENDED.date()
    gone = HabilitationFactory(
        user=departed, valid_from=ended - timedelta(days=300), valid_until=ended
    )
    kept = HabilitationFactory(
        user=present, valid_from=ended - timedelta(days=300), valid_until=ended
    )

    records.purge_kind(records.get("habilitations"), at=_just_before("habilitations"))
    assert Habilitation.objects.filter(pk=gone.pk).exists()

    entry = records.purge_kind(
        records.get("habilitations"), at=_just_after("habilitations") + timedelta(days=1)
    )
    assert not Habilitation.objects.filter(pk=gone.pk).exists()
    assert Habilitation.objects.filter(pk=kept.pk).exists()
    assert entry.deleted == 1


def test_a_habilitation_named_by_a_kept_viewing_session_stays_with_it():
    departed = UserFactory(is_active=False)
    ended = ENDED.date()
    habilitation = HabilitationFactory(
        user=departed, valid_from=ended - timedelta(days=300), valid_until=ended
    )
    camera = CameraFactory(code="CAM-HAB1")
    ViewingSession.objects.create(
        user=departed,
        camera=camera,
        habilitation=habilitation,
        started_at=ENDED - timedelta(days=2),
        last_seen_at=ENDED - timedelta(days=2),
        ended_at=ENDED - timedelta(days=2),
        end_reason="closed",
    )
    entry = records.purge_kind(records.get("habilitations"), at=_just_after("habilitations"))
    assert Habilitation.objects.filter(pk=habilitation.pk).exists()
    assert entry.deleted == 0


def test_sign_in_records_go_after_their_period():
    seen = {"user_agent": "Firefox", "ip_address": "10.0.0.8", "username": "operateur"}
    attempt = AccessAttempt.objects.create(**seen, path_info="/", failures_since_start=3)
    log = AccessLog.objects.create(**seen, path_info="/")
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=ENDED)
    AccessLog.objects.filter(pk=log.pk).update(attempt_time=ENDED)
    recent = AccessLog.objects.create(user_agent="Firefox", ip_address="10.0.0.9", path_info="/")
    AccessLog.objects.filter(pk=recent.pk).update(attempt_time=ENDED + timedelta(days=2))

    records.purge_kind(records.get("sign_ins"), at=_just_before("sign_ins"))
    assert AccessAttempt.objects.count() == 1 and AccessLog.objects.count() == 2

    entry = records.purge_kind(records.get("sign_ins"), at=_just_after("sign_ins"))
    assert AccessAttempt.objects.count() == 0
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent.pk]
    assert entry.deleted == 2


def test_a_purged_year_keeps_exactly_its_statistics():
    year = 2021
    generate_year(year, operators=4, signalements=400, cameras=4, requisitions=40)
    period = Period(date(year, 1, 1), date(year, 12, 31))
    later = datetime(year + 8, 6, 1, tzinfo=UTC)
    before = statistics(period, now=later)

    entries = records.purge_all(at=later)

    assert {e.kind for e in entries} == KINDS
    assert statistics(period, now=later) == before
    assert before["signalements"]["total"] == 400
    # What is left whole is closed but tied to a requisition still in course.
    kept = Signalement.objects.filter(anonymised_at__isnull=True, closed_at__isnull=False)
    assert kept.exists()
    for signalement in kept:
        statuses = {link.requisition.status for link in signalement.requisition_links.all()}
        assert statuses - FINISHED, signalement
    assert Signalement.objects.filter(anonymised_at__isnull=False).count() > 300
    assert not Shift.objects.filter(operator__isnull=False, ended_at__isnull=False).exists()
    assert Requisition.objects.filter(anonymised_at__isnull=False).exists()
    counts = {e.kind: e.anonymised for e in entries}
    assert counts["signalements"] > 0 and counts["shifts"] > 0 and counts["requisitions"] > 0
    # A second run finds nothing more: the purge is idempotent.
    again = records.purge_all(at=later)
    assert all(e.deleted == e.anonymised == 0 for e in again)


def test_each_run_is_in_the_register_and_the_schedule_in_the_audit_pack(operator):
    _signalement(operator)
    records.purge_all(at=_just_after("signalements"))
    rows = REGISTERS["purges-donnees"].rows(None, None)
    assert len(rows) == len(KINDS) == RecordPurge.objects.count()
    signalement_row = next(r for r in rows if r[1] == str(records.get("signalements").label))
    assert signalement_row[5] == "1"
    schedule = REGISTERS["durees-conservation"].rows(None, None)
    labels = [row[0] for row in schedule]
    for kind in records.kinds():
        assert str(kind.label) in labels
    assert "Images enregistrées par les caméras" in labels
    assert any(label.startswith("Journal d'audit : connexions") for label in labels)
    assert {"purges-donnees", "durees-conservation"} <= set(SECTIONS)


def test_the_daily_task_is_scheduled_and_runs_every_kind():
    entry = app.conf.beat_schedule["audit-purge-records"]
    assert entry["task"] == purge_records.name == "audit.tasks.purge_records"
    assert entry["options"]["expires"] > 0
    result = purge_records()
    assert set(result) == KINDS
    assert RecordPurge.objects.filter(actor_name="celery:purge_records").count() == len(KINDS)


def test_an_anonymised_requisition_scan_is_gone_for_its_readers(
    django_capture_on_commit_callbacks, signed_in, magistrate
):
    requisition = _requisition()
    with django_capture_on_commit_callbacks(execute=True):
        records.purge_kind(records.get("requisitions"), at=_just_after("requisitions"))
    client = signed_in(magistrate)
    response = client.get(reverse("evidence:requisition_attachment", args=[requisition.pk]))
    assert response.status_code == 404
    page = client.get(reverse("evidence:requisition_detail", args=[requisition.pk]))
    assert page.status_code == 200
    assert "durée de conservation écoulée" in page.content.decode()


# --- Property: after the purge at any date, nothing personal outlives its period -----------------
# A generated year of activity (signalements, shifts, requisitions, access requests, departed
# people's habilitations) and of footage with holds drawn at random, purged at any date of the
# nine years after: the records' purge and the footage's purge together leave nothing past its
# period but what a hold in force or a procedure in course protects, and the year's figures stay.

PROPERTY_YEAR = 2022


@pytest.fixture
def activity(dpo):
    """A year of activity, plus access requests and departed people's habilitations."""
    generate_year(PROPERTY_YEAR, operators=3, signalements=150, cameras=3, requisitions=30)
    start = datetime(PROPERTY_YEAR, 1, 5, 9, 0, tzinfo=UTC)
    for n in range(12):
        moment = start + timedelta(days=30 * n)
        status = [AccessRequest.Status.OPEN, AccessRequest.Status.ANSWERED, "refused"][n % 3]
        request = _access_request(dpo, status=AccessRequest.Status.OPEN)
        AccessRequest.objects.filter(pk=request.pk).update(
            received_at=moment,
            status=status,
            outcome={"open": "", "answered": "no_footage", "refused": "refused"}[status],
            refusal_reason="investigation" if status == "refused" else "",
            answered_at=None if status == "open" else moment + timedelta(days=20),
        )
        departed = UserFactory(is_active=n % 2 == 0)
        HabilitationFactory(
            user=departed,
            valid_from=moment.date(),
            valid_until=(moment + timedelta(days=60)).date(),
        )
    period = Period(date(PROPERTY_YEAR, 1, 1), date(PROPERTY_YEAR, 12, 31))
    return period, statistics(period, now=datetime(PROPERTY_YEAR + 1, 1, 1, tzinfo=UTC))


def _check_nothing_personal_outlives_its_period(at: datetime) -> None:
    limit = {kind.slug: records.cutoff(kind, at) for kind in records.kinds()}
    for s in Signalement.objects.prefetch_related("requisition_links__requisition"):
        protected = any(
            link.requisition.status not in FINISHED for link in s.requisition_links.all()
        )
        due = s.closed_at is not None and s.closed_at < limit["signalements"] and not protected
        assert (s.location == "" and s.anonymised_at is not None) == due, s
        if due:
            assert not s.notes.exists()
    for shift in Shift.objects.all():
        due = shift.ended_at is not None and shift.ended_at < limit["shifts"]
        assert (shift.operator_id is None) == due, shift
    assert not RotaSlot.objects.filter(ends_at__lt=limit["shifts"]).exists()
    for r in Requisition.objects.all():
        ended = r.finished_at or r.decided_at or r.submitted_at
        due = r.status in FINISHED and ended < limit["requisitions"]
        assert (r.facts == "" and r.anonymised_at is not None) == due, r
    for a in AccessRequest.objects.all():
        due = a.status != "open" and a.answered_at < limit["access_requests"]
        assert (a.requester_last_name == "" and a.requester_birth_date is None) == due, a
    for h in Habilitation.objects.select_related("user"):
        ended = h.valid_until < limit["habilitations"].date() or (
            h.revoked_at is not None and h.revoked_at < limit["habilitations"]
        )
        assert h.user.is_active or not ended, h


@hsettings(
    max_examples=12,
    # No shrinking: each step rebuilds a year of footage; the failing example is shown as found.
    phases=[Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    at=st.datetimes(
        min_value=datetime(PROPERTY_YEAR, 3, 1),
        max_value=datetime(PROPERTY_YEAR + 9, 12, 31),
        timezones=st.just(UTC),
    ),
    days=st.fixed_dictionaries({slug: st.integers(365, 2500) for slug in sorted(KINDS)}),
    holds_drawn=st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 360), st.integers(-30, 30), st.booleans()),
        max_size=4,
    ),
)
def test_after_the_purge_at_any_date_nothing_personal_outlives_its_period(
    activity, settings, at, days, holds_drawn
):
    period, figures = activity
    settings.RECORD_RETENTION_DAYS = {**days, "sign_ins": min(days["sign_ins"], 365)}
    # The store is outside the transaction: each example starts from an empty one.
    shutil.rmtree(default_storage.location, ignore_errors=True)
    with transaction.atomic():
        footage = _a_year_of_footage(at, holds_drawn)
        # The footage's two cameras count in the availability figures: read them again.
        before = statistics(period, now=datetime(PROPERTY_YEAR + 1, 1, 1, tzinfo=UTC))
        assert {k: v for k, v in before.items() if k != "camera_availability"} == {
            k: v for k, v in figures.items() if k != "camera_availability"
        }
        records.purge_all(at=at)
        purge.purge_run(now=at)
        _check_nothing_personal_outlives_its_period(at)
        _check_footage(at, footage)
        assert statistics(period, now=datetime(PROPERTY_YEAR + 1, 1, 1, tzinfo=UTC)) == before
        transaction.set_rollback(True)  # the next example starts from the whole year again


def _a_year_of_footage(at: datetime, drawn: list[tuple[int, int, int, bool]]) -> list[Hold]:
    """Two cameras (15 and 30 days) filmed a few minutes every ten days of the year, and the
    holds drawn: (camera, day of the year, days from ``at`` to the hold's end, released)."""
    cameras = [make_camera("CAM-Y15", 15), make_camera("CAM-Y30", 30)]
    first = datetime(PROPERTY_YEAR, 1, 3, 10, 0, tzinfo=UTC)
    for camera in cameras:
        for n in range(37):
            record_segments(camera, first + timedelta(days=10 * n), 2)
    placed = []
    for index, day, days_left, released in drawn:
        start = first + timedelta(days=day)
        hold = holds.hold_place(
            camera=cameras[index],
            starts_at=start,
            ends_at=start + timedelta(days=10),
            basis=Hold.Basis.REQUISITION,
            reference_type="evidence.requisition",
            reference_id=str(day),
            reference_label=f"Réquisition {day}",
            reason="Réquisition judiciaire",
            expires_at=timezone.now() + timedelta(days=1),
            actor="test",
        )
        # Placed once its window was filmed (before the purge's date), the hold ends (or
        # ended) relative to that date; some were lifted before it.
        created = min(hold.ends_at + timedelta(hours=1), at - timedelta(minutes=2))
        Hold.objects.filter(pk=hold.pk).update(
            created_at=created,
            expires_at=max(at + timedelta(days=days_left), created + timedelta(minutes=1)),
            released_at=at - timedelta(minutes=1) if released else None,
            release_reason="Réquisition close" if released else "",
        )
        hold.refresh_from_db()
        placed.append(hold)
    return placed


def _check_footage(at: datetime, placed: list[Hold]) -> None:
    # Nothing past its camera's retention survives unless a hold in force covers it...
    assert_consistent(at)
    # ... and what a hold in force covers, or what is within its retention, is still there.
    for segment in Segment.objects.select_related("camera"):
        within = segment.ended_at > at - timedelta(days=segment.camera.retention_days)
        held = any(
            h.is_active(at)
            and h.camera_id == segment.camera_id
            and h.starts_at < segment.ended_at
            and segment.started_at < h.ends_at
            for h in placed
        )
        assert (segment.state == Segment.State.STORED) == (within or held), segment


@pytest.mark.parametrize("slug", ["purges-donnees", "durees-conservation"])
def test_the_dpo_alone_reads_the_new_registers_page_csv_and_pdf(
    slug, operator, supervisor, admin_user, signed_in, dpo
):
    records.purge_all(at=_just_after("signalements"))
    url = reverse("compliance:register", args=[slug])
    for user in (operator, supervisor, admin_user):
        assert signed_in(user).get(url).status_code == 403, user.role
        assert signed_in(user).get(url, {"format": "csv"}).status_code == 403, user.role
    client = signed_in(dpo)
    page = client.get(url)
    assert page.status_code == 200
    assert str(REGISTERS[slug].title) in html.unescape(page.content.decode())
    csv = client.get(url, {"format": "csv"})
    assert csv.status_code == 200
    assert str(records.get("signalements").label) in csv.content.decode("utf-8-sig")
    assert client.get(url, {"format": "pdf"}).status_code == 200
