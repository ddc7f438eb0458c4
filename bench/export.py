"""Export cost: one hour of one 1080p camera, next to the raw limit measured in the same run.

Run from the repository root: ``python bench/export.py [--minutes 60] [--mbps 4]``.
It writes a 60 s H.264 1920x1080 25 fps clip (the recording bench's generator), stores it
``minutes`` times as back-to-back encrypted segments with ``recordings.store.segment_store``
(a scratch data folder and SQLite database), files a requisition, approves it, and times:

* the raw limit: every segment read back with ``recordings.store.segment_read`` (SHA-256 of
  the stored object, then decryption) and the plaintext written one after the other to a file;
* the export: ``evidence.export.export_build`` (the Celery task's body) — the same reads,
  the stream-copy join with PyAV, the package's hashes, ZIP and encryption, the signed
  manifest and the PDF procès-verbal.

Each is run twice alternately (the page cache then holds the segments for both) and the
better time of each is kept. The last line is ``RESULT export time_ratio=<x> target<=2``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

#: What the extractions here pursue (CSI L251-2).
PURPOSE = "atteintes_personnes_biens"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def setup_django(data_dir: Path) -> None:
    os.environ["CSU_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csu.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fragmented(path: Path) -> tuple[bytes, int, int, int]:
    """The clip remuxed to fragmented MP4 as the recorder stores it: bytes, size, frames."""
    import av

    out = io.BytesIO()
    frames = 0
    with (
        av.open(str(path)) as source,
        av.open(
            out,
            "w",
            format="mp4",
            options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
        ) as target,
    ):
        stream = source.streams.video[0]
        copy = target.add_stream_from_template(stream)
        for packet in source.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = copy
            target.mux(packet)
            frames += 1
        width, height = stream.codec_context.width, stream.codec_context.height
    return out.getvalue(), width, height, frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--mbps", type=float, default=4.0)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="csu-export-bench-"))
    try:
        run(scratch, args.minutes, args.mbps)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, minutes: int, mbps: float) -> None:
    setup_django(scratch / "data")
    from django.conf import settings
    from django.utils import timezone
    from recording import make_clip

    from accounts.models import Service, User
    from accounts.roles import Role
    from cameras.models import Authorization, Camera
    from evidence import export, packages, services, tasks
    from recordings import store

    settings.MEDIA_ROOT = scratch / "media"
    print(f"Generating a 60 s 1920x1080 clip at {mbps} Mbit/s ...", flush=True)
    clip_path = scratch / "minute.mp4"
    measured = make_clip(clip_path, 60, int(mbps * 1e6))
    payload, width, height, frames = fragmented(clip_path)
    print(f"  {measured:.2f} Mbit/s, {len(payload) / 2**20:.1f} MiB per minute", flush=True)

    today = timezone.localdate()
    authorization = Authorization.objects.create(
        number="BENCH-1",
        issued_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=1000),
        purposes=["atteintes_personnes_biens"],
        qualities=["operateur_csu"],
        perimeter="bench",
        retention_days=15,
    )
    camera = Camera.objects.create(
        code="BENCH-1080",
        name="Bench",
        sector="bench",
        kind="fixe",
        authorization=authorization,
        stream_url="rtsp://127.0.0.1:1/bench",
    )
    base = (timezone.now() - timedelta(minutes=minutes + 30)).replace(microsecond=0)
    print(f"Storing {minutes} encrypted segments ...", flush=True)
    segments = []
    for index in range(minutes):
        started = base + timedelta(minutes=index)
        segments.append(
            store.segment_store(
                camera=camera,
                clip=store.Clip(
                    started_at=started,
                    ended_at=started + timedelta(minutes=1),
                    payload=payload,
                    codec="h264",
                    width=width,
                    height=height,
                    frames=frames,
                ),
            )
        )

    service = Service.objects.create(code="bench", name="Bench", kind="police_nationale")
    officer = User.objects.create(username="opj", role=Role.OPJ, service=service)
    judge = User.objects.create(username="judge", role=Role.MAGISTRATE)
    chief = User.objects.create(username="chief", role=Role.SUPERVISOR)
    chief.habilitations.create(
        decision_reference="BENCH",
        issuer="bench",
        valid_from=today - timedelta(days=1),
        valid_until=today + timedelta(days=10),
        all_cameras=True,
        can_extract=True,
    )
    tasks.build_export.delay = lambda export_id: None  # timed below, not queued

    def one_export(round_: int) -> float:
        requisition = services.requisition_submit(
            procedure_number=f"BENCH-{round_}",
            legal_frame="60-1",
            facts="bench",
            justification="bench",
            attachment_name="r.pdf",
            attachment_data=b"%PDF-1.4\n%%EOF\n",
            windows=[services.WindowRequest(camera.code, base, base + timedelta(minutes=minutes))],
            actor=officer,
        )
        services.requisition_decide(
            requisition=requisition, outcome="approve_all", reason="bench", actor=judge
        )
        job = services.export_start(requisition=requisition, purpose=PURPOSE, actor=chief)
        began = time.perf_counter()
        job = export.export_build(job.pk)
        elapsed = time.perf_counter() - began
        assert job.state == "ready", job.error
        packages.package_delete(job)
        return elapsed

    def raw_limit() -> float:
        target = scratch / "raw.bin"
        began = time.perf_counter()
        with open(target, "wb") as handle:
            for segment in segments:
                handle.write(store.segment_read(segment))
            handle.flush()
            os.fsync(handle.fileno())
        elapsed = time.perf_counter() - began
        target.unlink()
        return elapsed

    raws, exports = [], []
    for round_ in range(2):
        raws.append(raw_limit())
        print(f"  raw limit (read, verify, decrypt, concatenate): {raws[-1]:.2f} s", flush=True)
        exports.append(one_export(round_))
        print(f"  export (join, package, sign, encrypt):           {exports[-1]:.2f} s", flush=True)
    raw, ours = min(raws), min(exports)
    size = len(payload) * minutes
    print()
    print(f"Footage: {minutes} min of 1920x1080 H.264, {size / 2**30:.2f} GiB")
    print(f"Raw limit: {raw:.2f} s ({size / raw / 2**20:.0f} MiB/s)")
    print(f"Export:    {ours:.2f} s ({size / ours / 2**20:.0f} MiB/s)")
    print(f"RESULT export time_ratio={ours / raw:.2f} target<=2")


if __name__ == "__main__":
    main()
