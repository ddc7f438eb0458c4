"""Every time the requisition journey shows people is Paris time, whatever the process's zone.

The process runs in UTC here (TZ and Django's TIME_ZONE): a page, PDF or file name that fell
back on the process clock would show the UTC times of ``UTC_TEXT``. The data sits on the night
of the autumn change, where 02:30 happens twice and must carry its offset.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from csu.lib import times
from evidence import export as builder
from evidence import handover, manifest, services
from evidence.models import DownloadLink
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import (
    AFTER,
    BEFORE,
    FIRST_0230,
    PARIS_TEXT,
    SECOND_0230,
    UTC_TEXT,
    night_requisition,
    pdf_text,
    released_export,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc_process(monkeypatch, settings):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    settings.TIME_ZONE = "UTC"
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def requisition(opj):
    return night_requisition(opj, [CameraFactory(code="CAM-DST1"), CameraFactory(code="CAM-DST2")])


def _no_utc_text(text: str) -> None:
    for moment, wrong in UTC_TEXT.items():
        assert wrong not in text, (wrong, "shown instead of", PARIS_TEXT[moment])


def test_the_helper_writes_the_offset_only_on_the_repeated_hour():
    for moment, expected in PARIS_TEXT.items():
        assert times.paris_text(moment) == expected
    assert times.file_stamp(FIRST_0230) == "20251026T023000+0200"
    assert times.file_stamp(SECOND_0230) == "20251026T023000+0100"
    assert times.utc_iso(SECOND_0230) == "2025-10-26T01:30:00.000Z"


def test_the_magistrates_checkboxes_show_the_tables_times(requisition, magistrate, signed_in):
    page = signed_in(magistrate).get(f"/requisitions/{requisition.pk}/").content.decode()
    labels = re.findall(r'<span class="window-label">([^<]*)</span>', page)
    table = page[page.index('id="windows"') : page.index("</table>", page.index('id="windows"'))]
    cells = re.findall(r'<td class="t"[^>]*>([^<]*)</td>', table)
    assert cells == [
        PARIS_TEXT[BEFORE],
        PARIS_TEXT[FIRST_0230],
        PARIS_TEXT[SECOND_0230],
        PARIS_TEXT[AFTER],
    ]
    assert labels == [
        f"CAM-DST1 {PARIS_TEXT[BEFORE]} – {PARIS_TEXT[FIRST_0230]}",
        f"CAM-DST2 {PARIS_TEXT[SECOND_0230]} – {PARIS_TEXT[AFTER]}",
    ]
    # The shortening fields show the same instants, with the offset on the repeated hour.
    assert 'value="2025-10-26T02:30:00+02:00"' in page
    assert 'value="2025-10-26T02:30:00+01:00"' in page
    _no_utc_text(page)


def test_every_page_of_the_journey_shows_paris_time(
    requisition, opj, magistrate, supervisor, signed_in
):
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    export = released_export(requisition, supervisor)
    link = DownloadLink.objects.get(export=export)
    expiry = times.paris_text(link.expires_at)
    chief = signed_in(supervisor)
    officer = signed_in(opj)
    judge = signed_in(magistrate)
    pages = {
        "officer": officer.get(f"/requisitions/{requisition.pk}/").content.decode(),
        "supervisor": chief.get(f"/requisitions/{requisition.pk}/").content.decode(),
        "magistrate": judge.get(f"/requisitions/{requisition.pk}/").content.decode(),
    }
    for page in pages.values():
        _no_utc_text(page)
        for moment in (BEFORE, FIRST_0230, SECOND_0230, AFTER):
            assert PARIS_TEXT[moment] in page
    # The link's expiry reads the same on the supervisor's page and on the officer's.
    assert expiry in pages["officer"] and expiry in pages["supervisor"]
    released = chief.post(f"/requisitions/{requisition.pk}/nouveau-lien/", follow=True)
    link = DownloadLink.objects.filter(export=export, used_at=None, revoked_at=None).get()
    assert times.paris_text(link.expires_at) in released.content.decode()
    assert (
        times.paris_text(link.expires_at)
        in officer.get(f"/requisitions/{requisition.pk}/").content.decode()
    )
    # The lists and registers too.
    for client, url in ((judge, "/requisitions/"), (chief, "/requisitions/registres/")):
        listing = client.get(url).content.decode()
        assert times.paris_text(requisition.submitted_at, seconds=False) in listing or (
            url.endswith("registres/")
        )
        _no_utc_text(listing)


def test_the_documents_and_file_names_are_in_paris_time(requisition, opj, magistrate, supervisor):
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    export = released_export(requisition, supervisor)
    sheet = pdf_text(
        handover.fiche_de_preparation(
            export=export, clips=[], prepared_at=AFTER, fingerprint="f" * 64
        )
    )
    link = DownloadLink.objects.get(export=export)
    services.link_use(link=link, actor=opj)
    link.refresh_from_db()
    record = pdf_text(bytes(link.handover_record))
    for text in (sheet, record):
        flat = " ".join(text.split())
        for moment in (BEFORE, FIRST_0230, SECOND_0230, AFTER):
            assert PARIS_TEXT[moment] in flat
        _no_utc_text(flat)
    assert times.paris_text(link.used_at) in " ".join(record.split())
    first, second = requisition.windows.order_by("starts_at")
    assert builder._clip_name(first, 1) == "clips/01_CAM-DST1_20251026T001000+0200.mp4"
    assert builder._clip_name(second, 2) == "clips/02_CAM-DST2_20251026T023000+0100.mp4"


def test_machine_fields_stay_utc_with_their_z(requisition, magistrate, supervisor):
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    export = released_export(requisition, supervisor)
    body = json.loads(
        manifest.render(
            export=export, files=[], skipped=[], prepared_at=AFTER, signer=manifest.signer()
        )
    )
    windows = body["decision"]["windows"]
    assert windows[1]["start"] == {
        "utc": "2025-10-26T01:30:00.000Z",
        "europe_paris": "2025-10-26T02:30:00.000+01:00",
    }
    assert body["prepared_at"]["utc"].endswith("Z")


def test_the_extraction_and_handover_registers_csv_are_in_paris_time(
    requisition, opj, magistrate, supervisor
):
    from compliance import registers

    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    export = released_export(requisition, supervisor)
    link = DownloadLink.objects.get(export=export)
    services.link_use(link=link, actor=opj)
    # The handover happened during the repeated hour, after the change.
    DownloadLink.objects.filter(pk=link.pk).update(issued_at=FIRST_0230, used_at=SECOND_0230)
    from evidence.models import Export

    Export.objects.filter(pk=export.pk).update(finished_at=BEFORE, released_at=FIRST_0230)
    for slug, expected in (
        ("remises", [PARIS_TEXT[SECOND_0230], PARIS_TEXT[FIRST_0230]]),
        ("extractions", [PARIS_TEXT[BEFORE], PARIS_TEXT[FIRST_0230]]),
    ):
        register = registers.REGISTERS[slug]
        text = registers.as_csv(register, register.rows(None, None)).decode("utf-8-sig")
        for value in expected:
            assert value in text, (slug, value, text)
        _no_utc_text(text)


def test_the_api_gives_utc_with_its_z(requisition, magistrate, signed_in, settings):
    settings.TIME_ZONE = "Europe/Paris"  # the server's zone must not leak into machine fields
    services.requisition_decide(
        requisition=requisition, outcome="approve_all", reason="", actor=magistrate
    )
    body = signed_in(magistrate).get(f"/api/requisitions/{requisition.pk}/").json()
    assert body["decision"] == "approved"
    second = body["windows"][1]
    assert second["starts_at"] == "2025-10-26T01:30:00Z"
    assert second["approved_starts_at"] == "2025-10-26T01:30:00Z"
    assert body["decided_at"].endswith("Z") and body["submitted_at"].endswith("Z")


def test_the_template_filter_is_built_in_for_every_template():
    from django.template import engines

    template = engines["django"].from_string(
        '{{ a|paris }} | {{ b|paris:"minutes" }} | {{ c|paris:"time" }}'
        ' | {{ none|paris|default:"—" }}'
    )
    text = template.render({"a": FIRST_0230, "b": SECOND_0230, "c": AFTER, "none": None})
    assert text == ("26/10/2025 02:30:00 (UTC+02:00) | 26/10/2025 02:30 (UTC+01:00) | 04:45:00 | —")
