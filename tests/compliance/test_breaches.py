"""The register of personal-data breaches (RGPD art. 33): the 72 hours, the reminders, the
decision, and the drafts the product opens itself when it detects a failure of integrity."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit import integrity
from audit.models import AuditEvent
from audit.services import record
from compliance import breaches, pack
from compliance.models import Breach
from compliance.registers import REGISTERS
from compliance.tasks import remind_breaches
from recordings import playback, purge
from recordings.playback import PlaybackError
from tests.append_only import suspended
from tests.evidence.test_verifier_paths import _package
from tests.permissions import check_matrix
from tests.recordings.retention import make_camera, record_segments

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _breach(dpo, discovered_at: datetime, **extra) -> Breach:
    data = {
        "description": "Ordinateur du CSU volé avec une copie d'extraits.",
        "discovered_at": discovered_at,
        "discovered_by": "Chef de salle de nuit",
        **extra,
    }
    return breaches.breach_create(actor=dpo, now=discovered_at + timedelta(minutes=5), **data)


def _decide(breach, dpo, now=None, **extra):
    values = {
        "cnil_decision": "not_notify",
        "cnil_reason": "Extraits chiffrés, clé non compromise : pas de risque.",
        "people_decision": "not_notify",
        "people_reason": "Aucun risque pour les personnes.",
        **extra,
    }
    return breaches.breach_decide(breach=breach, actor=dpo, now=now, **values)


# --- The 72 hours (RGPD art. 33.1) ---------------------------------------------------------------


def test_the_deadline_is_72_real_hours_across_the_autumn_change(dpo):
    # Discovered Friday 23 October 2026, 10:00 in Paris (UTC+2); clocks go back on Sunday the 25th.
    discovered = datetime(2026, 10, 23, 10, 0, tzinfo=PARIS)
    breach = _breach(dpo, discovered)
    assert breach.deadline == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert breach.deadline - discovered == timedelta(hours=72)
    # In Paris that is 09:00, not the 10:00 three calendar days would give.
    assert breach.deadline.astimezone(PARIS).hour == 9


def test_the_deadline_is_72_real_hours_across_the_spring_change(dpo):
    # Discovered Friday 27 March 2026, 10:00 in Paris (UTC+1); clocks go forward on the 29th.
    discovered = datetime(2026, 3, 27, 10, 0, tzinfo=PARIS)
    breach = _breach(dpo, discovered)
    assert breach.deadline == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert breach.deadline.astimezone(PARIS).hour == 11


def test_the_pages_show_the_deadline_in_paris_and_the_time_left(dpo, signed_in, clock):
    discovered = datetime(2026, 10, 23, 10, 0, tzinfo=PARIS)
    breach = _breach(dpo, discovered)
    client = signed_in(dpo)
    with clock(datetime(2026, 10, 25, 12, 0, tzinfo=UTC)):
        page = client.get(f"/conformite/violations/{breach.pk}/").content.decode()
        listing = client.get("/conformite/violations/").content.decode()
    assert "26/10/2026 09:00" in page and "26/10/2026 09:00" in listing
    assert "reste 20 h 00 min" in page and "reste 20 h 00 min" in listing
    with clock(datetime(2026, 10, 26, 10, 30, tzinfo=UTC)):
        page = signed_in(dpo).get(f"/conformite/violations/{breach.pk}/").content.decode()
    assert "dépassé de 2 h 30 min" in page


# --- Reminders, each once ------------------------------------------------------------------------


def test_reminders_at_24_and_6_hours_before_and_once_overdue_each_sent_once(
    dpo, mailoutbox, settings, clock
):
    settings.COMPLIANCE_DPO_EMAIL = "dpo@example.org"
    # In UTC: hours added to a Paris time are wall-clock hours, one too many across the change.
    discovered = datetime(2026, 10, 23, 10, 0, tzinfo=PARIS).astimezone(UTC)
    breach = _breach(dpo, discovered)
    sent = []
    for hours in (47, 48, 48.5, 65, 66, 70, 72.5, 80):
        with clock(discovered + timedelta(hours=hours)):
            sent.append(remind_breaches())
    assert sent == [0, 1, 0, 0, 1, 0, 1, 0]
    assert len(mailoutbox) == 3
    assert "dépassé" in mailoutbox[2].subject and breach.reference in mailoutbox[2].subject
    assert "26/10/2026 09:00" in mailoutbox[0].subject
    reminders = AuditEvent.objects.filter(action="breach.reminder").order_by("seq")
    assert [e.details["reminder"] for e in reminders] == [
        "reminded_24h_at",
        "reminded_6h_at",
        "reminded_overdue_at",
    ]


def test_a_late_run_sends_only_the_most_urgent_reminder(dpo, mailoutbox, settings, clock):
    settings.COMPLIANCE_DPO_EMAIL = "dpo@example.org"
    discovered = datetime(2026, 3, 27, 10, 0, tzinfo=PARIS)
    _breach(dpo, discovered)
    with clock(discovered + timedelta(hours=75)):
        assert remind_breaches() == 1
        assert remind_breaches() == 0
    assert len(mailoutbox) == 1 and "dépassé" in mailoutbox[0].subject


def test_no_reminder_once_the_decision_is_taken(dpo, mailoutbox, settings, clock):
    settings.COMPLIANCE_DPO_EMAIL = "dpo@example.org"
    discovered = datetime(2026, 10, 23, 10, 0, tzinfo=PARIS)
    breach = _breach(dpo, discovered)
    _decide(breach, dpo, now=discovered + timedelta(hours=30))
    with clock(discovered + timedelta(hours=80)):
        assert remind_breaches() == 0
    assert mailoutbox == []


# --- Recording, deciding, closing ----------------------------------------------------------------


def test_only_the_dpo_keeps_the_register(supervisor):
    with pytest.raises(PermissionDenied):
        _breach(supervisor, timezone.now() - timedelta(hours=1))


def test_a_discovery_in_the_future_is_refused_in_french_on_the_page(dpo, signed_in):
    tomorrow = timezone.localtime() + timedelta(days=1)
    response = signed_in(dpo).post(
        "/conformite/violations/nouvelle/",
        {
            "description": "Courriel envoyé au mauvais destinataire.",
            "discovered_at": tomorrow.strftime("%Y-%m-%dT%H:%M"),
            "discovered_by": "Opérateur",
        },
    )
    assert response.status_code == 200
    assert "La découverte ne peut pas être dans le futur." in response.content.decode()
    assert not Breach.objects.exists()


def test_a_breach_cannot_occur_after_its_discovery(dpo, signed_in):
    now = timezone.localtime()
    response = signed_in(dpo).post(
        "/conformite/violations/nouvelle/",
        {
            "description": "Accès non autorisé au poste de relecture.",
            "occurred_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "discovered_at": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "discovered_by": "DPO",
        },
    )
    assert "La violation ne peut pas être survenue après sa découverte." in (
        response.content.decode()
    )
    assert not Breach.objects.exists()


def test_a_breach_recorded_on_the_page_is_audited_and_opens_its_detail(dpo, signed_in):
    discovered = timezone.localtime() - timedelta(hours=3)
    response = signed_in(dpo).post(
        "/conformite/violations/nouvelle/",
        {
            "description": "Clé USB d'extraction perdue.",
            "discovered_at": discovered.strftime("%Y-%m-%dT%H:%M"),
            "discovered_by": "Chef de salle",
            "people_categories": "Passants filmés rue de Boigne",
            "people_count": "12",
        },
    )
    breach = Breach.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/conformite/violations/{breach.pk}/"
    assert breach.state == "open" and breach.origin == "manual" and breach.people_count == 12
    assert AuditEvent.objects.get(action="breach.created").target_id == str(breach.pk)


def test_the_decision_needs_its_reasons_and_the_date_of_a_notification(dpo):
    breach = _breach(dpo, timezone.now() - timedelta(hours=5))
    with pytest.raises(ValidationError) as refused:
        _decide(breach, dpo, cnil_decision="notify", cnil_reason=" ")
    assert refused.value.message_dict == {
        "cnil_reason": ["Motivez la décision de notifier ou non la CNIL."],
        "cnil_notified_at": ["Indiquez la date de la notification à la CNIL."],
    }
    with pytest.raises(ValidationError) as refused:
        _decide(
            breach,
            dpo,
            cnil_decision="notify",
            cnil_notified_at=timezone.now() + timedelta(hours=1),
        )
    assert refused.value.message_dict == {
        "cnil_notified_at": ["Cette date ne peut pas être dans le futur."]
    }
    breach.refresh_from_db()
    assert breach.cnil_decision == "" and not AuditEvent.objects.filter(action="breach.decided")


def test_a_late_notification_is_marked_late_in_the_trail(dpo):
    discovered = timezone.now() - timedelta(hours=100)
    breach = _breach(dpo, discovered)
    _decide(
        breach,
        dpo,
        cnil_decision="notify",
        cnil_notified_at=discovered + timedelta(hours=80),
        cnil_reference="NOTIF-2026-42",
    )
    event = AuditEvent.objects.get(action="breach.decided")
    assert event.details["late"] is True and event.details["cnil_reference"] == "NOTIF-2026-42"


def test_closing_waits_for_the_decision_and_a_closed_breach_is_frozen(dpo, signed_in):
    breach = _breach(dpo, timezone.now() - timedelta(hours=5))
    client = signed_in(dpo)
    response = client.post(
        f"/conformite/violations/{breach.pk}/cloture/", {"note": "Rien à signaler."}, follow=True
    )
    assert "Prenez d&#x27;abord la décision" in response.content.decode()
    breach.refresh_from_db()
    assert breach.state == "open"
    _decide(breach, dpo)
    client.post(f"/conformite/violations/{breach.pk}/cloture/", {"note": "Poste remplacé."})
    breach.refresh_from_db()
    assert breach.state == "closed" and breach.closing_note == "Poste remplacé."
    with pytest.raises(ValidationError):
        breaches.breach_update(breach=breach, actor=dpo, measures_taken="autre chose")
    response = client.get(f"/conformite/violations/{breach.pk}/modifier/")
    assert response.status_code == 302


def test_the_decision_page_records_it(dpo, signed_in):
    breach = _breach(dpo, timezone.now() - timedelta(hours=5))
    notified = timezone.localtime() - timedelta(hours=1)
    response = signed_in(dpo).post(
        f"/conformite/violations/{breach.pk}/decision/",
        {
            "cnil_decision": "notify",
            "cnil_reason": "Images de personnes identifiables diffusées.",
            "cnil_notified_at": notified.strftime("%Y-%m-%dT%H:%M"),
            "cnil_reference": "CNIL-123",
            "people_decision": "not_notify",
            "people_reason": "Personnes non identifiables individuellement.",
        },
    )
    assert response.status_code == 302
    breach.refresh_from_db()
    assert breach.cnil_decision == "notify" and breach.cnil_reference == "CNIL-123"
    assert breach.people_decision == "not_notify" and breach.decided_at is not None


# --- The API -------------------------------------------------------------------------------------


def test_api_records_reads_and_decides(dpo, signed_in):
    client = signed_in(dpo)
    discovered = timezone.now() - timedelta(hours=2)
    response = client.post(
        "/api/breaches/",
        {
            "description": "Export envoyé à une mauvaise adresse.",
            "discovered_at": discovered.isoformat(),
            "discovered_by": "DPO",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    deadline = (discovered + timedelta(hours=72)).astimezone(UTC)
    assert body["deadline"] == deadline.isoformat().replace("+00:00", "Z")
    assert body["decision_pending"] is True and body["state"] == "open"
    listing = client.get("/api/breaches/").json()
    assert [row["id"] for row in listing["results"]] == [body["id"]]
    refused = client.post(
        f"/api/breaches/{body['id']}/decide/",
        {
            "cnil_decision": "notify",
            "cnil_reason": "Risque",
            "people_decision": "not_notify",
            "people_reason": "Aucun",
        },
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["cnil_notified_at"] == ["Indiquez la date de la notification à la CNIL."]
    decided = client.post(
        f"/api/breaches/{body['id']}/decide/",
        {
            "cnil_decision": "not_notify",
            "cnil_reason": "Aucun risque",
            "people_decision": "not_notify",
            "people_reason": "Aucun risque",
        },
        content_type="application/json",
    )
    assert decided.status_code == 200 and decided.json()["decision_pending"] is False


def test_api_refuses_a_discovery_in_the_future_in_words(dpo, signed_in):
    response = signed_in(dpo).post(
        "/api/breaches/",
        {
            "description": "Fuite.",
            "discovered_at": (timezone.now() + timedelta(hours=2)).isoformat(),
            "discovered_by": "DPO",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["discovered_at"] == ["La découverte ne peut pas être dans le futur."]
    assert not Breach.objects.exists()


# --- Who may: the DPO alone ----------------------------------------------------------------------


DPO = ["dpo"]


@pytest.fixture
def breach(dpo):
    return _breach(dpo, timezone.now() - timedelta(hours=5))


def test_breach_pages_are_the_dpos_alone(breach):
    check_matrix(url="/conformite/violations/", allowed=DPO)
    check_matrix(url="/conformite/violations/nouvelle/", allowed=DPO)
    check_matrix(url="/conformite/violations/nouvelle/", method="post", data={}, allowed=DPO)
    check_matrix(url=f"/conformite/violations/{breach.pk}/", allowed=DPO)
    check_matrix(url=f"/conformite/violations/{breach.pk}/modifier/", allowed=DPO)
    check_matrix(url=f"/conformite/violations/{breach.pk}/decision/", allowed=DPO)
    check_matrix(
        url=f"/conformite/violations/{breach.pk}/cloture/",
        method="post",
        data={"note": ""},
        allowed=DPO,
        ok=(302,),
    )


def test_breach_api_is_the_dpos_alone(breach):
    check_matrix(url="/api/breaches/", allowed=DPO, api=True)
    check_matrix(url=f"/api/breaches/{breach.pk}/", allowed=DPO, api=True)
    check_matrix(url="/api/breaches/", method="post", data={}, allowed=DPO, api=True, ok=(400,))
    check_matrix(
        url=f"/api/breaches/{breach.pk}/decide/",
        method="post",
        data={},
        allowed=DPO,
        api=True,
        ok=(400,),
    )


# --- Drafts opened by the product itself ---------------------------------------------------------


def _flip_a_byte(segment) -> None:
    path = default_storage.path(segment.storage_path)
    with open(path, "r+b") as handle:
        handle.seek(segment.size // 2)
        byte = handle.read(1)
        handle.seek(segment.size // 2)
        handle.write(bytes([byte[0] ^ 0x01]))


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


def test_a_segment_failing_its_integrity_check_opens_one_draft(media, supervisor):
    camera = make_camera("CAM-VD1")
    segments = record_segments(camera, timezone.now() - timedelta(hours=1), 2)
    _flip_a_byte(segments[1])
    for _attempt in range(2):  # read again: still one incident
        with pytest.raises(PlaybackError):
            playback.read_segment(segments[1], camera, supervisor)
    draft = Breach.objects.get()
    assert draft.state == "draft" and draft.origin == "detected"
    assert draft.detector == "recording.integrity_failed"
    assert draft.detection_key == f"recording.segment:{segments[1].pk}"
    assert "CAM-VD1" in draft.description
    assert AuditEvent.objects.filter(action="breach.detected").count() == 1
    # The intact segment opens nothing.
    playback.read_segment(segments[0], camera, supervisor)
    assert Breach.objects.count() == 1


def test_a_broken_audit_chain_opens_one_draft(operator):
    events = [record("recording.playback", actor=operator, reason=f"n° {n}") for n in range(3)]
    with suspended(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = %s WHERE seq = %s", ["réécrit", events[1].seq]
        )
    integrity.verify_and_record(actor_name="test")
    integrity.verify_and_record(actor_name="test")
    draft = Breach.objects.get()
    assert draft.detector == "audit.chain_broken" and draft.state == "draft"
    assert draft.detection_key == f"audit.chain:{events[1].seq}"
    assert f"n° {events[1].seq}" in draft.description


def test_an_intact_chain_opens_nothing(operator):
    record("recording.playback", actor=operator, reason="consultation")
    assert integrity.verify_and_record(actor_name="test").ok
    assert not Breach.objects.exists()


def test_the_purge_refusing_opens_one_draft_until_it_is_closed(media, dpo):
    folder = media / "segments" / "CAM-X" / "2026" / "01" / "01"
    folder.mkdir(parents=True)
    (folder / "000000-abc.csuseg").write_bytes(b"x")
    assert purge.purge_run().state == "refused"
    assert purge.purge_run().state == "refused"
    draft = Breach.objects.get()
    assert draft.detector == "recording.purge_refused"
    assert "ne concordent pas" in draft.description
    # Qualified, decided and closed: the same disagreement found again is a new incident.
    breaches.breach_update(breach=draft, actor=dpo, measures_taken="Volume remonté.")
    _decide(draft, dpo)
    breaches.breach_close(breach=draft, actor=dpo, note="Volume démonté par erreur.")
    assert purge.purge_run().state == "refused"
    assert Breach.objects.filter(state="draft").count() == 1
    assert Breach.objects.count() == 2


def test_an_export_package_failing_its_verification_opens_one_draft(tmp_path):
    folder = _package(tmp_path / "paquet", ["clip.mp4"])
    (folder / "clip.mp4").write_bytes(b"y")  # the clip altered after signature
    for _attempt in range(2):
        with pytest.raises(CommandError):
            call_command("verify_export", str(folder), stdout=io.StringIO())
    draft = Breach.objects.get()
    assert draft.detector == "export.verification_failed" and draft.state == "draft"
    assert "paquet" in draft.description and "clip.mp4" in draft.description


def test_an_intact_export_package_opens_nothing(tmp_path):
    call_command(
        "verify_export", str(_package(tmp_path / "paquet", ["clip.mp4"])), stdout=io.StringIO()
    )
    assert not Breach.objects.exists()


# --- The register and the audit pack -------------------------------------------------------------


def test_the_register_lists_breaches_of_the_period_and_the_pack_holds_it(dpo, tmp_path):
    inside = datetime(2026, 10, 23, 10, 0, tzinfo=PARIS)
    outside = datetime(2026, 9, 20, 10, 0, tzinfo=PARIS)
    kept = _breach(dpo, inside, people_count=40, people_categories="Passants")
    _decide(kept, dpo, now=inside + timedelta(hours=10))
    _breach(dpo, outside)
    start = datetime(2026, 10, 1, tzinfo=PARIS)
    end = datetime(2026, 11, 1, tzinfo=PARIS)
    rows = REGISTERS["violations"].rows(start, end)
    assert len(rows) == 1
    assert rows[0][0] == kept.reference and rows[0][4] == "23/10/2026 10:00:00"
    assert rows[0][8] == "Passants ; ~40" and rows[0][11] == "26/10/2026 09:00:00"
    assert rows[0][12].startswith("Non notifiée — Extraits chiffrés")

    name, data = pack.build(start=start, end=end, actor=dpo)
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = name.removesuffix(".zip")
    text = archive.read(f"{root}/registres/violations.csv").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    assert [line[0] for line in lines] == [kept.reference]
