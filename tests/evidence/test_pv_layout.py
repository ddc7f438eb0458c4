"""The procès-verbal de remise of a 20-clip package with long names and outages (one across the
repeated autumn hour): nothing overlaps, nothing leaves the page, no hash or size wraps
mid-number. Checked on the PDF's text boxes and on the pages rendered as images."""

from __future__ import annotations

import hashlib
import io
import itertools

import pdfplumber
import pytest

from csu.lib.times import utc_iso
from evidence import services
from evidence.models import DownloadLink, Export
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import (
    BEFORE,
    FIRST_0230,
    PARIS_TEXT,
    SECOND_0230,
    night_requisition,
    released_export,
)

pytestmark = pytest.mark.django_db


def _files() -> list[dict]:
    files = []
    for n in range(1, 21):
        name = (
            f"clips/{n:02d}_CAM-CENTRE-VILLE-CARREFOUR-DES-ELEPHANTS-{n:03d}"
            f"_20251026T023000+0100_sequence_complementaire_demandee_par_la_brigade.mp4"
        )
        files.append(
            {
                "path": name,
                "sha256": hashlib.sha256(name.encode()).hexdigest(),
                "size": 1_234_567_890 + n,
                "kind": "clip",
            }
        )
    for name in ("fiche-de-preparation.pdf", "LISEZMOI.txt", "verify.py", "cle-publique.pem"):
        files.append(
            {"path": name, "sha256": hashlib.sha256(name.encode()).hexdigest(), "size": 4096}
        )
    return files


def _outages(camera: str) -> list[dict]:
    cause = "Reconnexion refusée : " + "le flux de la caméra ne répond plus. " * 4
    spans = [(BEFORE, FIRST_0230), (FIRST_0230, SECOND_0230), (BEFORE, SECOND_0230)]
    return [
        {
            "window": 1,
            "camera": camera,
            "start": utc_iso(start),
            "end": utc_iso(end),
            "kind": "gap",
            "cause": f"{n}. {cause}",
        }
        for n, (start, end) in enumerate(spans, start=1)
    ]


@pytest.fixture
def record(opj, magistrate, supervisor):
    requisition = night_requisition(opj, [CameraFactory(), CameraFactory()])
    first, _second = requisition.windows.order_by("starts_at")
    services.requisition_decide(
        requisition=requisition,
        outcome="approve_part",
        window_ids=[first.pk],
        reason="Motif long : " + "la seconde période ne concerne pas les faits. " * 6,
        actor=magistrate,
    )
    export = released_export(requisition, supervisor, files=_files())
    Export.objects.filter(pk=export.pk).update(outages=_outages(first.camera.code))
    export.refresh_from_db()
    link = DownloadLink.objects.get(export=export)
    services.link_use(link=link, actor=opj)
    link.refresh_from_db()
    return export, bytes(link.handover_record)


def _overlap(a: dict, b: dict) -> float:
    width = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
    height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return max(0.0, width) * max(0.0, height)


def test_no_text_overlaps_and_everything_stays_on_the_page(record):
    _export, pdf = record
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) >= 2  # 24 files: the table goes on
        for page in document.pages:
            words = page.extract_words(use_text_flow=True, keep_blank_chars=False)
            assert words
            for word in words:
                assert word["x0"] >= 0 and word["x1"] <= page.width, word
                assert word["top"] >= 0 and word["bottom"] <= page.height, word
            for a, b in itertools.combinations(words, 2):
                area = _overlap(a, b)
                smallest = min(
                    (a["x1"] - a["x0"]) * (a["bottom"] - a["top"]),
                    (b["x1"] - b["x0"]) * (b["bottom"] - b["top"]),
                )
                assert area <= 0.05 * smallest, (page.page_number, a["text"], b["text"])


def test_each_hash_and_size_is_whole_on_one_line(record):
    export, pdf = record
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        lines = [
            line
            for page in document.pages
            for line in (page.extract_text() or "").replace("\u00a0", " ").splitlines()
        ]
    text = "\n".join(lines)
    for item in export.files:
        assert any(item["sha256"] in line for line in lines), item["path"]
        size = f"{item['size']:,}".replace(",", " ")
        assert any(size in line for line in lines), size
    assert export.key_fingerprint in text
    assert export.package_sha256 in text
    # Each outage with its Paris times (the offset on the repeated hour) and its cause.
    assert "Interruptions dans les périodes autorisées" in text
    flat = " ".join(text.split())
    for moment in (BEFORE, FIRST_0230, SECOND_0230):
        assert PARIS_TEXT[moment].split(" (")[0] in flat, moment
    assert "(UTC+02:00)" in flat and "(UTC+01:00)" in flat
    for item in export.outages:
        assert item["cause"][:40] in flat, item["cause"]


def test_the_pages_render_as_images_with_ink_inside_the_margins(record, tmp_path):
    _export, pdf = record
    (tmp_path / "proces-verbal.pdf").write_bytes(pdf)  # kept with the images when it fails
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            image = page.to_image(resolution=60).original.convert("L")
            path = tmp_path / f"page-{page.page_number}.png"
            image.save(path)
            width, height = image.size
            # The 13 mm side margins (about 30 px at 60 dpi) carry no ink but the table grid's.
            margin = int(10 / 25.4 * 60)
            left = image.crop((0, 0, margin, height)).getextrema()
            right = image.crop((width - margin, 0, width, height)).getextrema()
            assert left[0] > 200 and right[0] > 200, path
