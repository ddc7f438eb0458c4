"""A package states what is missing from its approved window: a recorder gap, a span nothing
recorded, destroyed footage, each with its start, end and cause, in the signed manifest (UTC),
in LISEZMOI.txt and in the procès-verbal de remise (Paris time); clip durations stand next to
the window's, and LISEZMOI names each clip's real codec (H.265 too) and the players for it."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from fractions import Fraction

import av
import pytest
from django.utils import timezone

from csu.lib.times import paris_text, utc_iso
from evidence import export as builder
from evidence import manifest, packages, services
from evidence.models import DownloadLink, Export
from evidence.outages import duration_text, window_outages
from recordings import playback, store
from recordings.models import Gap, Segment
from tests.cameras.factories import CameraFactory
from tests.evidence.documents import pdf_text
from tests.evidence.factories import RequisitionFactory
from tests.recordings.media import moving_frame

#: What the extractions here pursue (CSI L251-2).
PURPOSE = "atteintes_personnes_biens"

pytestmark = pytest.mark.django_db

FPS = 12
CUT_CAUSE = "connexion perdue avec la caméra (délai de lecture dépassé)"


def one_second(encoder: str) -> bytes:
    """One second of moving picture as the recorder stores it: a fragmented MP4, no B-frame."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4", options=playback.MP4_OPTIONS) as container:
        stream = container.add_stream(encoder, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.codec_context.gop_size = FPS
        stream.codec_context.options = {
            "preset": "ultrafast",
            "x264-params": "bframes=0:keyint=12:scenecut=0",
            "x265-params": "bframes=0:keyint=12:scenecut=0:log-level=none",
        }
        for index in range(FPS):
            frame = av.VideoFrame.from_ndarray(moving_frame(index, 160, 96), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def stored(camera, start: datetime, payload: bytes, codec: str) -> Segment:
    return store.segment_store(
        camera=camera,
        clip=store.Clip(
            started_at=start,
            ended_at=start + timedelta(seconds=1),
            payload=payload,
            codec=codec,
            width=160,
            height=96,
            frames=FPS,
        ),
    )


def handed_over(camera, start, end, opj, magistrate, supervisor) -> tuple[Export, bytes]:
    """Intake, approval, export built from the stored segments, release, download: the export
    and its procès-verbal de remise."""
    requisition = RequisitionFactory(
        procedure_number="2026/OUT-1",
        facts="Vol à l'arraché devant la gare.",
        justification="Identifier l'auteur.",
        camera=camera,
        starts_at=start,
        ends_at=end,
        actor=opj,
        approved_by=magistrate,
        approved_by__reason="Nécessaire à l'enquête.",
    )
    export = services.export_start(requisition=requisition, purpose=PURPOSE, actor=supervisor)
    export = builder.export_build(export.pk)
    assert export.state == Export.State.READY, export.error
    services.export_release(requisition=requisition, actor=supervisor)
    link = DownloadLink.objects.get(export=export)
    services.link_use(link=link, actor=opj)
    link.refresh_from_db()
    export.refresh_from_db()
    return export, bytes(link.handover_record)


def package_files(export: Export) -> dict[str, bytes]:
    root = export.package_name
    with zipfile.ZipFile(io.BytesIO(packages.package_bytes(export))) as archive:
        return {
            name.removeprefix(f"{root}/"): archive.read(name)
            for name in archive.namelist()
            if not name.endswith("/")
        }


@pytest.fixture
def t0() -> datetime:
    return (timezone.now() - timedelta(hours=2)).replace(microsecond=0)


@pytest.fixture
def cut_camera(t0):
    """Footage over [t0, t0+14 s) with a recorder gap, destroyed footage and an unexplained
    hole: stored 0–2 s, gap 2–6 s, stored 6–7 s, destroyed 7–8 s, nothing 8–13 s, stored 13–14 s."""
    camera = CameraFactory(code="CAM-OUT1", name="Parvis de la gare")
    payload = one_second("libx264")
    for second in (0, 1, 6, 7, 13):
        stored(camera, t0 + timedelta(seconds=second), payload, "h264")
    Gap.objects.create(
        camera=camera,
        started_at=t0 + timedelta(seconds=2),
        ended_at=t0 + timedelta(seconds=6),
        reason=CUT_CAUSE,
    )
    destroyed_at = timezone.now() - timedelta(hours=1)
    Segment.objects.filter(camera=camera, started_at=t0 + timedelta(seconds=7)).update(
        state=Segment.State.DESTROYED, destroyed_at=destroyed_at
    )
    return camera, destroyed_at


def test_a_package_names_every_outage_of_its_window(cut_camera, t0, opj, magistrate, supervisor):
    camera, destroyed_at = cut_camera
    end = t0 + timedelta(seconds=14)
    export, pv = handed_over(camera, t0, end, opj, magistrate, supervisor)
    files = package_files(export)
    expected = [
        (t0 + timedelta(seconds=2), t0 + timedelta(seconds=6), "gap", CUT_CAUSE),
        (t0 + timedelta(seconds=7), t0 + timedelta(seconds=8), "destroyed", "détruites le"),
        (t0 + timedelta(seconds=8), t0 + timedelta(seconds=13), "not_recorded", "enregistreur"),
    ]

    # The signed manifest: start, end (UTC with Z, and Paris), kind and cause of each.
    document = json.loads(files[manifest.MANIFEST_NAME])
    listed = document["outages"]
    assert [(o["start"]["utc"], o["end"]["utc"], o["kind"]) for o in listed] == [
        (utc_iso(a), utc_iso(b), kind) for a, b, kind, _cause in expected
    ]
    for item, (_a, _b, _kind, cause) in zip(listed, expected, strict=True):
        assert cause in item["cause"] and item["camera"] == camera.code
    assert paris_text(destroyed_at) in listed[1]["cause"]
    # Clip duration next to the window's: 13 s of footage and a frame short of it.
    (clip,) = [f for f in document["files"] if f["kind"] == "clip"]
    assert clip["window"]["duration_seconds"] == 14.0
    assert 13.0 <= clip["duration_seconds"] < 14.0
    assert clip["codec"] == "h264"

    # LISEZMOI.txt, in French and Paris time.
    readme = files[manifest.README_NAME].decode("utf-8")
    assert "Interruptions dans la période" in readme
    for a, b, _kind, cause in expected:
        line = next(line for line in readme.splitlines() if f"du {paris_text(a)} au" in line)
        assert f"au {paris_text(b)}" in line and cause in line, line
    assert f"durée {duration_text(14.0)}" in readme
    assert f"durée {duration_text(clip['duration_seconds'])}" in readme
    assert "codec H.264 (AVC)" in readme

    # The in-package preparation sheet and the procès-verbal de remise.
    for pdf in (files[manifest.PV_NAME], pv):
        text = pdf_text(pdf).replace("\u00a0", " ")
        assert "Interruptions dans les périodes autorisées" in text
        for a, b, _kind, _cause in expected:
            assert paris_text(a) in text and paris_text(b) in text, (a, b)
        assert "connexion perdue avec la caméra" in text
        assert "Images détruites le" in text
        assert "Aucun enregistrement conservé" in text
    assert export.outages == [
        {
            "window": export.requisition.windows.get().pk,
            "camera": camera.code,
            "start": utc_iso(a),
            "end": utc_iso(b),
            "kind": kind,
            "cause": item["cause"],
        }
        for (a, b, kind, _c), item in zip(expected, listed, strict=True)
    ]


def test_a_package_without_outage_says_so(t0, opj, magistrate, supervisor):
    camera = CameraFactory(code="CAM-OUT2")
    payload = one_second("libx264")
    for second in range(3):
        stored(camera, t0 + timedelta(seconds=second), payload, "h264")
    export, pv = handed_over(camera, t0, t0 + timedelta(seconds=3), opj, magistrate, supervisor)
    files = package_files(export)
    assert json.loads(files[manifest.MANIFEST_NAME])["outages"] == []
    assert "Aucune interruption connue dans la période." in files[manifest.README_NAME].decode()
    assert "Aucune interruption d'enregistrement" in pdf_text(pv).replace("\n", " ")


def test_an_h265_clip_is_named_h265_with_the_players_that_read_it(t0, opj, magistrate, supervisor):
    camera = CameraFactory(code="CAM-HEVC")
    payload = one_second("libx265")
    for second in range(2):
        stored(camera, t0 + timedelta(seconds=second), payload, "hevc")
    export, _pv = handed_over(camera, t0, t0 + timedelta(seconds=2), opj, magistrate, supervisor)
    files = package_files(export)
    (clip,) = [f for f in json.loads(files[manifest.MANIFEST_NAME])["files"] if f["kind"] == "clip"]
    assert clip["codec"] == "hevc" and clip["method"] == "stream_copy"
    with av.open(io.BytesIO(files[clip["path"]])) as container:
        assert container.streams.video[0].codec_context.name == "hevc"
    readme = files[manifest.README_NAME].decode("utf-8")
    line = next(i for i, text in enumerate(readme.splitlines()) if clip["path"] in text)
    assert "codec H.265 (HEVC)" in readme.splitlines()[line + 1]
    assert "MP4, H.264" not in readme
    players = readme[readme.index("Lecture des séquences H.265") :]
    for player in ("VLC", "mpv", "Extensions vidéo HEVC"):
        assert player in " ".join(players.split()), player


def test_outages_are_clipped_to_the_window_and_an_open_gap_runs_to_its_end(t0):
    camera = CameraFactory(code="CAM-OUT3")
    payload = one_second("libx264")
    # Segments 0–1 s and 1.5–2.5 s (a jitter of half a second is no outage), then nothing.
    stored(camera, t0, payload, "h264")
    stored(camera, t0 + timedelta(seconds=1.5), payload, "h264")
    Gap.objects.create(
        camera=camera, started_at=t0 - timedelta(minutes=5), ended_at=t0, reason="avant"
    )
    Gap.objects.create(camera=camera, started_at=t0 + timedelta(seconds=2.5), reason="en cours")
    end = t0 + timedelta(seconds=10)
    (outage,) = window_outages(camera, t0, end)  # the gap that ends at t0 is not in it
    assert (outage.start, outage.end, outage.kind, outage.cause) == (
        t0 + timedelta(seconds=2.5),
        end,
        "gap",
        "en cours",
    )
    # From a minute earlier: the first gap is listed, clipped to the window's start.
    first, second = window_outages(camera, t0 - timedelta(minutes=1), end)
    assert (first.start, first.end, first.cause) == (t0 - timedelta(minutes=1), t0, "avant")
    assert second.cause == "en cours"
