"""A manual hold serves a procedure or a case and lasts a limited time, renewable with a reason."""

from __future__ import annotations

import importlib
import io
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from audit.models import AuditEvent
from compliance import pack
from compliance.registers import REGISTERS
from recordings import holds, purge
from recordings.models import Hold, HoldRenewal, Segment
from tests.recordings.retention import make_camera, record_segments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def old_footage():
    """Three segments of a 15-day camera, 16 days old: the next purge destroys them unheld."""
    camera = make_camera("CAM-HL1", retention_days=15)
    return camera, record_segments(camera, timezone.now() - timedelta(days=16), 3)


def _manual(camera, segments, **extra):
    fields = {
        "basis": Hold.Basis.MANUAL,
        "reason": "Rixe signalée",
        "justification": "Plainte annoncée par la victime, réquisition à venir.",
        "case_reference": "MC 2026/000321",
        "expires_at": timezone.now() + timedelta(days=2),
        "actor": "test",
    } | extra
    return holds.hold_place(
        camera=camera, starts_at=segments[0].started_at, ends_at=segments[-1].ended_at, **fields
    )


def _states(segments):
    return {Segment.objects.get(pk=s.pk).state for s in segments}


# --- The reference -------------------------------------------------------------------------------


def test_a_manual_hold_without_a_procedure_or_case_reference_is_refused(old_footage):
    camera, segments = old_footage
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        _manual(camera, segments, case_reference="   ")
    assert "référence de la procédure ou du dossier" in " ".join(
        error.value.message_dict["case_reference"]
    )
    assert not Hold.objects.exists()
    assert not AuditEvent.objects.filter(action="recording.hold_placed").exists()


def test_the_reference_is_kept_and_audited(old_footage):
    camera, segments = old_footage
    hold = _manual(camera, segments, case_reference="  PV 2026/000999 ")
    assert hold.case_reference == "PV 2026/000999"
    event = AuditEvent.objects.get(action="recording.hold_placed")
    assert event.details["case_reference"] == "PV 2026/000999"


def test_the_page_refuses_a_hold_without_reference_in_french(old_footage, supervisor, signed_in):
    camera, segments = old_footage
    local = timezone.localtime
    response = signed_in(supervisor).post(
        "/conservation/gels/nouveau/",
        {
            "camera": camera.code,
            "starts_at": f"{local(segments[0].started_at):%Y-%m-%dT%H:%M}",
            "ends_at": f"{local(segments[-1].ended_at) + timedelta(minutes=1):%Y-%m-%dT%H:%M}",
            "reason": "Rixe",
            "justification": "Plainte annoncée.",
            "case_reference": "",
            "expires_on": f"{timezone.localdate() + timedelta(days=5):%Y-%m-%d}",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200
    assert "Ce champ est obligatoire" in response.content.decode()
    assert not Hold.objects.exists()


def test_the_api_refuses_a_hold_without_reference_with_a_400(old_footage, supervisor, signed_in):
    camera, segments = old_footage
    response = signed_in(supervisor).post(
        "/api/holds/",
        {
            "camera": camera.code,
            "starts_at": segments[0].started_at.isoformat(),
            "ends_at": segments[-1].ended_at.isoformat(),
            "reason": "Rixe",
            "justification": "Plainte annoncée.",
            "expires_at": (timezone.now() + timedelta(days=5)).isoformat(),
        },
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400, response.content
    assert "référence de la procédure ou du dossier" in str(response.json()["case_reference"])
    assert not Hold.objects.exists()


# --- The end ------------------------------------------------------------------------------------


def test_a_manual_hold_ends_at_most_the_configured_days_later(old_footage, settings):
    settings.RECORDINGS_HOLD_MAX_DAYS = 10
    camera, segments = old_footage
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        _manual(camera, segments, expires_at=timezone.now() + timedelta(days=10, minutes=1))
    assert "au plus 10 jours" in " ".join(error.value.message_dict["expires_at"])
    assert not Hold.objects.exists()
    hold = _manual(camera, segments, expires_at=timezone.now() + timedelta(days=9, hours=23))
    assert hold.is_active()


def test_holds_of_requisitions_are_not_bound_by_the_manual_limit(old_footage):
    camera, segments = old_footage
    hold = holds.hold_place(
        camera=camera,
        starts_at=segments[0].started_at,
        ends_at=segments[-1].ended_at,
        basis=Hold.Basis.REQUISITION,
        reason="Réquisition",
        reference_type="evidence.requisition",
        reference_id="7",
        expires_at=timezone.now() + timedelta(days=365),
        actor="intake",
    )
    assert hold.is_active(timezone.now() + timedelta(days=300))


def test_the_page_refuses_an_end_past_the_limit(old_footage, supervisor, signed_in, settings):
    settings.RECORDINGS_HOLD_MAX_DAYS = 30
    camera, segments = old_footage
    local = timezone.localtime
    response = signed_in(supervisor).post(
        "/conservation/gels/nouveau/",
        {
            "camera": camera.code,
            "starts_at": f"{local(segments[0].started_at):%Y-%m-%dT%H:%M}",
            "ends_at": f"{local(segments[-1].ended_at) + timedelta(minutes=1):%Y-%m-%dT%H:%M}",
            "reason": "Rixe",
            "justification": "Plainte annoncée.",
            "case_reference": "MC 2026/1",
            "expires_on": f"{timezone.localdate() + timedelta(days=31):%Y-%m-%d}",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200
    assert "au plus 30 jours" in response.content.decode()
    assert not Hold.objects.exists()
    # The limit's own day is accepted: the hold ends at the limit, not at that day's midnight.
    response = signed_in(supervisor).post(
        "/conservation/gels/nouveau/",
        {
            "camera": camera.code,
            "starts_at": f"{local(segments[0].started_at):%Y-%m-%dT%H:%M}",
            "ends_at": f"{local(segments[-1].ended_at) + timedelta(minutes=1):%Y-%m-%dT%H:%M}",
            "reason": "Rixe",
            "justification": "Plainte annoncée.",
            "case_reference": "MC 2026/1",
            "expires_on": f"{timezone.localdate(holds.manual_end_limit()):%Y-%m-%d}",
        },
    )
    hold = Hold.objects.get()
    assert response.status_code == 302
    assert hold.expires_at <= timezone.now() + timedelta(days=30)


def test_a_hold_past_its_end_no_longer_protects_and_the_purge_destroys_its_footage(old_footage):
    camera, segments = old_footage
    now = timezone.now()
    hold = _manual(camera, segments, expires_at=now + timedelta(days=2))

    purge.purge_run(now=now)
    assert _states(segments) == {Segment.State.STORED}
    purge.purge_run(now=now + timedelta(days=1, hours=23))
    assert _states(segments) == {Segment.State.STORED}

    purge.purge_run(now=now + timedelta(days=2, minutes=1))
    assert _states(segments) == {Segment.State.DESTROYED}
    hold.refresh_from_db()
    assert hold.released_at is None and not hold.is_active(now + timedelta(days=2, minutes=1))


# --- Renewal ------------------------------------------------------------------------------------


def test_a_renewal_moves_the_end_is_registered_and_audited_and_keeps_the_footage(
    old_footage, supervisor
):
    camera, segments = old_footage
    now = timezone.now()
    hold = _manual(camera, segments, expires_at=now + timedelta(days=2))
    previous = hold.expires_at
    holds.hold_renew(
        hold=hold,
        expires_at=now + timedelta(days=20),
        justification="Le parquet confirme la réquisition, attendue la semaine prochaine.",
        actor=supervisor,
    )
    hold.refresh_from_db()
    assert hold.expires_at == now + timedelta(days=20)
    renewal = HoldRenewal.objects.get()
    assert (renewal.hold, renewal.previous_expires_at, renewal.expires_at) == (
        hold,
        previous,
        hold.expires_at,
    )
    assert renewal.renewed_by_name == supervisor.username
    event = AuditEvent.objects.get(action="recording.hold_renewed")
    assert event.reason == renewal.justification
    assert event.details["hold"] == hold.pk and event.details["renewal"] == renewal.pk
    assert event.details["case_reference"] == "MC 2026/000321"
    # Past the old end, the footage is still held; past the new one, it goes.
    purge.purge_run(now=now + timedelta(days=3))
    assert _states(segments) == {Segment.State.STORED}
    purge.purge_run(now=now + timedelta(days=21))
    assert _states(segments) == {Segment.State.DESTROYED}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"justification": "  "}, "justification", "justification du renouvellement"),
        ({"expires_at": timedelta(days=1)}, "expires_at", "doit suivre l'échéance actuelle"),
        ({"expires_at": timedelta(days=31)}, "expires_at", "au plus 30 jours"),
    ],
)
def test_a_bad_renewal_is_refused_and_changes_nothing(
    old_footage, supervisor, settings, change, field, words
):
    settings.RECORDINGS_HOLD_MAX_DAYS = 30
    camera, segments = old_footage
    now = timezone.now()
    hold = _manual(camera, segments, expires_at=now + timedelta(days=2))
    fields = {"justification": "Procédure toujours en cours.", "expires_at": timedelta(days=10)}
    fields |= change
    with translation.override("fr"), pytest.raises(ValidationError) as error:
        holds.hold_renew(
            hold=hold,
            expires_at=now + fields["expires_at"],
            justification=fields["justification"],
            actor=supervisor,
        )
    assert words in " ".join(error.value.message_dict[field])
    hold.refresh_from_db()
    assert hold.expires_at == now + timedelta(days=2)
    assert not HoldRenewal.objects.exists()
    assert not AuditEvent.objects.filter(action="recording.hold_renewed").exists()


def test_an_ended_hold_is_not_renewed(old_footage, supervisor):
    camera, segments = old_footage
    now = timezone.now()
    hold = _manual(camera, segments, expires_at=now + timedelta(days=2))
    # Placed two days ago, ended a minute ago.
    Hold.objects.filter(pk=hold.pk).update(
        created_at=now - timedelta(days=2), expires_at=now - timedelta(minutes=1)
    )
    hold.refresh_from_db()
    with translation.override("fr"), pytest.raises(ValidationError, match="a pris fin le"):
        holds.hold_renew(
            hold=hold,
            expires_at=now + timedelta(days=5),
            justification="Trop tard.",
            actor=supervisor,
        )
    released = _manual(camera, segments)
    holds.hold_release(hold=released, reason="Affaire classée", actor=supervisor)
    with translation.override("fr"), pytest.raises(ValidationError, match="a été levé"):
        holds.hold_renew(
            hold=released,
            expires_at=now + timedelta(days=5),
            justification="Finalement utile.",
            actor=supervisor,
        )
    assert not HoldRenewal.objects.exists()


def test_the_page_renews_a_hold_and_shows_the_renewal(old_footage, supervisor, signed_in):
    camera, segments = old_footage
    hold = _manual(camera, segments, expires_at=timezone.now() + timedelta(days=2))
    client = signed_in(supervisor)
    page = client.get(f"/conservation/gels/{hold.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Renouveler le gel" in page.content.decode()
    response = client.post(
        f"/conservation/gels/{hold.pk}/renouveler/",
        {
            "expires_on": f"{timezone.localdate() + timedelta(days=10):%Y-%m-%d}",
            "justification": "Réquisition annoncée par l'OPJ.",
        },
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert timezone.localdate(hold.expires_at) == timezone.localdate() + timedelta(days=11)
    page = client.get(f"/conservation/gels/{hold.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content
    assert "Réquisition annoncée par l&#x27;OPJ." in page.decode()
    # Without a justification the page says so and nothing changes.
    response = client.post(
        f"/conservation/gels/{hold.pk}/renouveler/",
        {"expires_on": f"{timezone.localdate() + timedelta(days=12):%Y-%m-%d}"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 200 and "Ce champ est obligatoire" in response.content.decode()
    assert HoldRenewal.objects.count() == 1


def test_the_api_renews_a_manual_hold_only(old_footage, supervisor, signed_in):
    camera, segments = old_footage
    hold = _manual(camera, segments, expires_at=timezone.now() + timedelta(days=2))
    client = signed_in(supervisor)
    end = timezone.now() + timedelta(days=15)
    response = client.post(
        f"/api/holds/{hold.pk}/renew/",
        {"expires_at": end.isoformat(), "justification": "Procédure ouverte."},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["expires_at"] == timezone.localtime(end).isoformat()
    [renewal] = client.get(f"/api/holds/{hold.pk}/").json()["renewals"]
    assert renewal["justification"] == "Procédure ouverte."
    assert renewal["expires_at"] == timezone.localtime(end).isoformat()
    too_far = client.post(
        f"/api/holds/{hold.pk}/renew/",
        {
            "expires_at": (timezone.now() + timedelta(days=90)).isoformat(),
            "justification": "Encore.",
        },
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert too_far.status_code == 400 and "expires_at" in too_far.json()
    requisition_hold = holds.hold_place(
        camera=camera,
        starts_at=segments[0].started_at,
        ends_at=segments[0].ended_at,
        basis=Hold.Basis.REQUISITION,
        reason="Réquisition",
        reference_type="evidence.requisition",
        reference_id="8",
        expires_at=timezone.now() + timedelta(days=30),
        actor="intake",
    )
    refused = client.post(
        f"/api/holds/{requisition_hold.pk}/renew/",
        {"expires_at": end.isoformat(), "justification": "Non."},
        content_type="application/json",
    )
    assert refused.status_code == 409
    assert HoldRenewal.objects.count() == 1
    # Renewed by its requisition, whose file the supervisor may not read: its reasons stay unsaid.
    holds.hold_renew(
        hold=requisition_hold,
        expires_at=timezone.now() + timedelta(days=60),
        justification="Réquisition 8 en attente de décision.",
        actor="evidence.tasks",
    )
    body = client.get(f"/api/holds/{requisition_hold.pk}/").json()
    assert body["reference_withheld"] is True
    assert [r["justification"] for r in body["renewals"]] == [""]


# --- Holds placed before the limit -------------------------------------------------------------


def test_the_migration_gives_open_manual_holds_an_end_and_keeps_them(old_footage, settings):
    settings.RECORDINGS_HOLD_MAX_DAYS = 30
    camera, segments = old_footage
    now = timezone.now()
    common = {
        "camera": camera,
        "starts_at": segments[0].started_at,
        "ends_at": segments[-1].ended_at,
        "reason": "Ancien gel",
        "created_by_name": "chef",
    }
    endless = Hold.objects.create(
        basis="manual", justification="Sans fin", expires_at=now + timedelta(days=3000), **common
    )
    short = Hold.objects.create(
        basis="manual", justification="Court", expires_at=now + timedelta(days=5), **common
    )
    judicial = Hold.objects.create(
        basis="requisition", reference_id="9", expires_at=now + timedelta(days=300), **common
    )
    migration = importlib.import_module(
        "recordings.migrations.0004_hold_case_reference_and_renewals"
    )
    migration.end_open_manual_holds(apps, None)
    for hold in (endless, short, judicial):
        hold.refresh_from_db()
    assert endless.released_at is None and endless.is_active()
    assert now + timedelta(days=29) < endless.expires_at <= timezone.now() + timedelta(days=30)
    assert short.expires_at == now + timedelta(days=5)
    assert judicial.expires_at == now + timedelta(days=300)


def test_the_renewals_register_names_the_case_and_is_a_section_of_the_audit_pack(
    old_footage, supervisor, dpo
):
    camera, segments = old_footage
    now = timezone.now()
    hold = _manual(camera, segments, expires_at=now + timedelta(days=2))
    holds.hold_renew(
        hold=hold,
        expires_at=now + timedelta(days=20),
        justification="Le parquet confirme la réquisition, attendue la semaine prochaine.",
        actor=supervisor,
    )
    with translation.override("fr"):
        # The manual hold's case reference is its reference in the holds register.
        (held,) = REGISTERS["gels"].rows(None, None)
        assert held[5] == "MC 2026/000321"
        (row,) = REGISTERS["renouvellements-gels"].rows(now - timedelta(hours=1), None)
        assert row[1] == camera.code and row[4] == "MC 2026/000321"
        assert row[7] == supervisor.username and row[8].startswith("Le parquet confirme")
        # Outside the period asked for, the renewal is not listed.
        assert REGISTERS["renouvellements-gels"].rows(None, now - timedelta(hours=1)) == []
        name, data = pack.build(
            start=now - timedelta(days=1), end=now + timedelta(days=1), actor=dpo
        )
    archive = zipfile.ZipFile(io.BytesIO(data))
    root = name.removesuffix(".zip")
    text = archive.read(f"{root}/registres/renouvellements-gels.csv").decode("utf-8-sig")
    assert "MC 2026/000321" in text and "Le parquet confirme" in text
    assert '"renouvellements-gels": 1' in archive.read(f"{root}/manifest.json").decode()
