"""Building an evidence package: clips, signed manifest, procès-verbal, README, verifier.

Each approved camera × window becomes one MP4: the decrypted segments joined by stream copy
(lossless) when no software privacy mask applies, otherwise decoded, masked and re-encoded
with libx264 at high quality and full resolution (``recordings.playback``'s joiners). The
package is one ZIP archive written in a single pass through ``recordings.crypto``'s
encrypting writer: it never lies in clear on the server's disk, and is decrypted only while the
officer downloads it (``evidence.packages`` reads and deletes it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.actors import Actor
from cameras.models import Camera
from csu.lib.hashing import HashingWriter
from csu.lib.times import file_stamp, paris
from evidence import handover, manifest, outages, packages, services
from evidence.models import Export, Requisition, Window
from recordings import crypto, keys, playback
from recordings.models import Segment

logger = logging.getLogger(__name__)

#: Bytes decrypted from the head of each segment to read its stream parameters.
HEAD_BYTES = crypto.DEFAULT_CHUNK_SIZE


class ExportError(Exception):
    """The package cannot be built; the message says why, in words for the supervisor."""


# --- Joining one window -------------------------------------------------------------------------


class _Copier(playback.Copier):
    """Playback's stream copier, noting the wall-clock time of the first and last frame."""

    first_at: float | None = None
    last_at: float | None = None

    def _mux(self, packet: av.Packet, wall_dts: float, wall_pts: float, tb: Any) -> None:
        super()._mux(packet, wall_dts, wall_pts, tb)
        self.first_at = wall_pts if self.first_at is None else min(self.first_at, wall_pts)
        self.last_at = wall_pts if self.last_at is None else max(self.last_at, wall_pts)


def _head_parameters(segment: Segment) -> tuple[str, int, int, bytes | None]:
    """Stream parameters from the decrypted head of a segment (its init section)."""
    with default_storage.open(segment.storage_path, "rb") as handle:
        decryptor = crypto.SegmentDecryptor(handle, keys.unwrap(segment.key))
        head = decryptor.read(0, min(decryptor.plaintext_size, HEAD_BYTES))
    return playback.stream_parameters(head)


def _mask_record(camera: Camera) -> dict[str, Any] | None:
    mask = camera.current_mask()
    if mask is None or not mask.polygons:
        return None
    return {
        "version": mask.version,
        "validated_at": mask.validated_at.isoformat() if mask.validated_at else None,
        "software_polygons_burnt_in": mask.software_polygons,
        "camera_polygons": [
            p["points"] for p in mask.polygons if p.get("mode", "software") == "camera"
        ],
    }


def _join(clip: manifest.Clip, target: Any, actor: Actor, progress: manifest.Progress) -> None:
    """Write the window's MP4 into ``target``; fills the clip's frames and frame times."""
    window = clip.window
    camera = window.camera
    start, end = window.granted_starts_at.timestamp(), window.granted_ends_at.timestamp()
    polygons = playback.software_polygons(camera)
    try:
        parameters = {_head_parameters(segment) for segment in clip.segments}
    except (av.error.FFmpegError, crypto.SegmentIntegrityError, keys.KeyDestroyed) as exc:
        raise ExportError(
            _("Caméra %(camera)s : un segment est illisible (%(error)s).")
            % {"camera": camera.code, "error": exc}
        ) from exc
    encode = bool(polygons) or len(parameters) > 1
    clip.codec = "h264" if encode else next(iter(parameters))[0]
    output = av.open(target, "w", format="mp4", options=playback.MP4_OPTIONS)
    writer: _Copier | playback.Encoder
    if encode:
        clip.method = "reencoded_h264_masked" if polygons else "reencoded_h264"
        writer = playback.Encoder(
            output,
            start,
            end,
            polygons,
            max_width=0,
            preset="medium",
            crf=str(settings.EVIDENCE_ENCODE_CRF),
        )
    else:
        writer = _Copier(output, start, end)
    try:
        for segment in clip.segments:
            try:
                data = playback.read_segment(segment, camera, actor)
            except playback.PlaybackError as exc:
                raise ExportError(str(exc)) from exc
            try:
                more = writer.add(data, segment.started_at.timestamp())
            except playback.UndecodableFootage as exc:  # masks cannot be burnt in here
                raise ExportError(
                    _("Caméra %(camera)s : %(error)s") % {"camera": camera.code, "error": exc}
                ) from exc
            progress.done += 1
            progress.step(_("Caméra %(camera)s") % {"camera": camera.code})
            if not more:
                break
        if isinstance(writer, playback.Encoder):
            writer.flush()
    finally:
        output.close()
    clip.frames = writer.frames
    if isinstance(writer, _Copier):
        first, last = writer.first_at, writer.last_at
    else:
        first = start + writer.first_ms / 1000 if writer.first_ms is not None else None
        last = start + writer.last_ms / 1000 if writer.last_ms >= 0 else None
    clip.first_at = datetime.fromtimestamp(first, UTC) if first is not None else None
    clip.last_at = datetime.fromtimestamp(last, UTC) if last is not None else None


# --- The package --------------------------------------------------------------------------------


def _clip_name(window: Window, index: int) -> str:
    """Named for people: the camera and the Paris time of the start, with its offset."""
    return f"clips/{index:02d}_{window.camera.code}_{file_stamp(window.granted_starts_at)}.mp4"


def _entry(zf: zipfile.ZipFile, name: str, data: bytes) -> dict[str, Any]:
    zf.writestr(zipfile.ZipInfo(name, date_time=_zip_time()), data)
    return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = paris(timezone.now())
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def build_package(
    export: Export, target: Any, on_progress: Callable[[manifest.Progress], None] | None = None
) -> dict[str, Any]:
    """Write the ZIP package of ``export`` into ``target``; returns what the registers keep."""
    requisition: Requisition = export.requisition
    windows = services.export_windows(requisition)
    actor = export.prepared_by
    plans = [
        (
            window,
            playback.range_segments(
                window.camera, window.granted_starts_at, window.granted_ends_at
            ),
        )
        for window in windows
    ]
    progress = manifest.Progress(export.pk, total=sum(len(segments) for _w, segments in plans))
    root = export.package_name
    clips: list[manifest.Clip] = []
    skipped: list[dict[str, Any]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for index, (window, segments) in enumerate(plans, start=1):
            if not segments:
                skipped.append(
                    {"window": window.pk, "camera": window.camera.code, "reason": "no_segments"}
                )
                continue
            clip = manifest.Clip(
                path=_clip_name(window, index),
                window=window,
                segments=segments,
                method="stream_copy",
                mask=_mask_record(window.camera),
            )
            info = zipfile.ZipInfo(f"{root}/{clip.path}", date_time=_zip_time())
            with zf.open(info, "w", force_zip64=True) as entry:
                hashing = HashingWriter(entry, block=4 * 2**20)
                _join(clip, hashing, actor, progress)
                hashing.flush()
            clip.sha256, clip.size = hashing.hexdigest(), hashing.size
            clips.append(clip)
        if not any(clip.frames for clip in clips):
            raise ExportError(_("Aucune image n'a été trouvée dans les périodes autorisées."))
        missing = window_outages(requisition)
        clocks = manifest.clock_record(clips)
        progress.step(_("Procès-verbal et manifeste"), share=92)
        signer = manifest.signer()
        prepared_at = timezone.now()
        files = []
        for clip in clips:
            files.append(manifest.clip_entry(clip))
        readme = manifest.readme(export, signer.fingerprint, clips=clips, outages=missing).encode(
            "utf-8"
        )
        verifier = manifest.verifier_script(manifest.KIND)
        public_pem = signer.public_pem
        pv = handover.fiche_de_preparation(
            export=export,
            clips=clips,
            prepared_at=prepared_at,
            fingerprint=signer.fingerprint,
            outages=missing,
            clocks=clocks,
        )
        for name, data, kind in (
            (manifest.PV_NAME, pv, "preparation_sheet"),
            (manifest.README_NAME, readme, "readme"),
            (manifest.VERIFIER_NAME, verifier, "verifier"),
            (manifest.PUBLIC_KEY_NAME, public_pem, "public_key"),
        ):
            files.append({**_entry(zf, f"{root}/{name}", data), "path": name, "kind": kind})
        body = manifest.render(
            export=export,
            files=files,
            skipped=skipped,
            prepared_at=prepared_at,
            signer=signer,
            outages=missing,
            clocks=clocks,
        )
        _entry(zf, f"{root}/{manifest.MANIFEST_NAME}", body)
        _entry(zf, f"{root}/{manifest.SIGNATURE_NAME}", signer.sign(body))
        _entry(zf, f"{root}/{manifest.FINGERPRINT_NAME}", (signer.fingerprint + "\n").encode())
    return {
        "files": [{k: f[k] for k in ("path", "sha256", "size", "kind")} for f in files],
        "manifest_sha256": hashlib.sha256(body).hexdigest(),
        "key_fingerprint": signer.fingerprint,
        "skipped": skipped,
        "outages": [
            outage.record(window=window.pk, camera=window.camera.code) for window, outage in missing
        ],
        "clocks": clocks,
    }


def window_outages(requisition: Requisition) -> list[tuple[Window, outages.Outage]]:
    """The outages inside every approved window (frozen or not: a window whose footage was all
    destroyed has no hold, but what it misses is still stated), in camera and time order."""
    approved = requisition.windows.filter(decision=Window.Decision.APPROVED).select_related(
        "camera"
    )
    with translation.override("fr"):
        return [
            (window, outage)
            for window in approved.order_by("camera__code", "starts_at", "pk")
            for outage in outages.window_outages(
                window.camera, window.granted_starts_at, window.granted_ends_at
            )
        ]


def export_build(export_id: int) -> Export:
    """Build the package of a queued export (the Celery task's body). Runs once per export."""
    claimed = Export.objects.filter(pk=export_id, state=Export.State.QUEUED).update(
        state=Export.State.RUNNING,
        progress=1,
        progress_label=_("Préparation"),
        started_at=timezone.now(),
    )
    export = Export.objects.select_related("requisition", "prepared_by").get(pk=export_id)
    if not claimed:
        return export
    master = keys.master_keys()[0]
    key_id = f"evidence-export/{export.pk}"
    data_key = crypto.new_data_key()
    path = packages.package_path(export)
    try:
        with open(path, "wb") as handle:
            counting = HashingWriter(handle)
            with crypto.EncryptingWriter(counting, data_key, key_id) as encrypted:
                plain = HashingWriter(encrypted)
                result = build_package(export, plain)
            handle.flush()
            os.fsync(handle.fileno())  # durable before the export is announced ready
    except Exception as exc:
        path.unlink(missing_ok=True)
        message = (
            str(exc)
            if isinstance(exc, ExportError)
            else _("Erreur inattendue pendant l'extraction (%(error)s).")
            % {"error": exc.__class__.__name__}
        )
        if not isinstance(exc, ExportError):
            logger.exception("export %s failed", export_id)
        if not connection.is_usable():
            # The database went away mid-build (restart, terminated backend): reconnect to
            # record the failure rather than leave the export "running" forever.
            connection.close()
        with transaction.atomic():
            Export.objects.filter(pk=export_id).update(
                state=Export.State.FAILED, error=message, finished_at=timezone.now()
            )
            services.export_finished(export=export, ok=False, error=message)
        export.refresh_from_db()
        return export
    except BaseException:
        # Killed politely (worker shutdown, interrupt): the partial package goes with the run;
        # a process killed outright leaves it to services.export_files_sweep.
        path.unlink(missing_ok=True)
        raise
    try:
        wrapped = master.wrap(key_id, data_key)
        _announce_ready(export, path, key_id, wrapped, counting, plain, result)
    except BaseException:
        # Not on record, so not a package: no file is left that no export points to.
        path.unlink(missing_ok=True)
        raise
    export.refresh_from_db()
    return export


def _announce_ready(
    export: Export,
    path: Path,
    key_id: str,
    wrapped_key: bytes,
    counting: HashingWriter,
    plain: HashingWriter,
    result: dict[str, Any],
) -> None:
    export_id = export.pk
    with transaction.atomic():
        Export.objects.filter(pk=export_id).update(
            state=Export.State.READY,
            progress=100,
            progress_label=_("Prête"),
            finished_at=timezone.now(),
            package_path=str(path.name),
            package_key_id=key_id,
            package_key=wrapped_key,
            package_size=counting.size,
            package_sha256=plain.hexdigest(),
            manifest_sha256=result["manifest_sha256"],
            key_fingerprint=result["key_fingerprint"],
            files=result["files"],
            outages=result["outages"],
            clocks=result["clocks"],
        )
        export.refresh_from_db()
        services.export_finished(
            export=export,
            ok=True,
            details={
                "package_sha256": export.package_sha256,
                "manifest_sha256": export.manifest_sha256,
                "files": result["files"],
                "skipped": result["skipped"],
                "outages": result["outages"],
            },
        )
