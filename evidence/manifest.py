"""The package's manifest (what is in it, where from, who decided) and its Ed25519 signature."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation

from audit import chain
from csu.lib.times import paris_text, utc_iso
from evidence import verifier
from evidence.models import Decision, Export, LegalFrame, Window
from evidence.outages import Outage, duration_text
from recordings import clock
from recordings.models import Segment

#: What each codec name of the recorder is called in the documents.
CODEC_LABELS = {"h264": "H.264 (AVC)", "hevc": "H.265 (HEVC)"}
#: Which common players read an H.265 file (LISEZMOI.txt).
H265_PLAYERS = (
    "VLC (version 3 ou plus récente), mpv et ffplay (FFmpeg) sous Windows, macOS et Linux ; "
    "le lecteur multimédia de Windows (Films et TV, Lecteur multimédia) seulement après "
    "l'installation de l'extension « Extensions vidéo HEVC » du Microsoft Store ; la plupart "
    "des navigateurs web ne les lisent pas"
)


def codec_label(codec: str) -> str:
    return CODEC_LABELS.get(codec, codec.upper() or "—")


FORMAT = "csu-evidence-package/1"
#: Inside the signed bytes, so that an audit pack signed with the same key cannot pass for one.
KIND = verifier.EVIDENCE_PACKAGE
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
FINGERPRINT_NAME = "cle-publique.sha256"
PUBLIC_KEY_NAME = "cle-publique.pem"
#: The preparation sheet; the procès-verbal de remise is drawn up at the download.
PV_NAME = "fiche-de-preparation.pdf"
README_NAME = "LISEZMOI.txt"
VERIFIER_NAME = "verify.py"
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Clip:
    """One approved window as a file of the package, filled in as the builder writes it."""

    path: str
    window: Window
    segments: list[Segment]
    method: str
    frames: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    sha256: str = ""
    size: int = 0
    mask: dict[str, Any] | None = None
    #: The codec of the file as written: the recorded one for a stream copy ("h264", "hevc").
    codec: str = ""

    @property
    def seconds(self) -> float | None:
        """From the first to the last frame (None without frames)."""
        if self.first_at is None or self.last_at is None:
            return None
        return (self.last_at - self.first_at).total_seconds()


@dataclass
class Progress:
    """How far the build is, written on the export for its page: 90 % is all clips joined."""

    export_id: int
    total: int
    done: int = 0
    notes: list[str] = field(default_factory=list)

    def step(self, label: str, share: float | None = None) -> None:
        percent = round(90 * self.done / max(1, self.total)) if share is None else round(share)
        Export.objects.filter(pk=self.export_id).update(
            progress=min(100, percent), progress_label=label[:200]
        )


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @property
    def fingerprint(self) -> str:
        return chain.public_key_fingerprint(self.key.public_key())

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_raw_b64(self) -> str:
        """The public key's 32 raw bytes in base64 (44 characters), as records store it."""
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def sign(self, body: bytes) -> bytes:
        """The detached signature, base64 on one line."""
        return base64.b64encode(self.key.sign(body)) + b"\n"


def signer() -> Signer:
    try:
        return Signer(chain.load_private_key(settings.EVIDENCE_SIGNING_KEY))
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            "CSU_EVIDENCE_SIGNING_KEY must be an Ed25519 key (base64 of 32 bytes, or PEM)"
        ) from None


def trusted_fingerprints() -> list[str]:
    """The key fingerprints the server's own verifications accept: its signing key's, then
    those of its former keys (``CSU_EVIDENCE_PREVIOUS_FINGERPRINTS``)."""
    return [signer().fingerprint, *settings.EVIDENCE_PREVIOUS_FINGERPRINTS]


def verifier_script(kind: str = KIND) -> bytes:
    """The offline verifier placed in a package of ``kind``: it refuses the other kind."""
    return verifier.shipped_source(kind)


def both_times(moment: datetime | None) -> dict[str, str] | None:
    if moment is None:
        return None
    return {
        "utc": utc_iso(moment),
        "europe_paris": moment.astimezone(PARIS).isoformat(timespec="milliseconds"),
    }


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "username": user.get_username(),
        "name": user.get_full_name(),
        "role": user.role,
        "badge_number": user.badge_number,
        "service": str(user.service) if user.service_id else "",
    }


def clip_entry(clip: Clip) -> dict[str, Any]:
    window = clip.window
    camera = window.camera
    return {
        "path": clip.path,
        "kind": "clip",
        "sha256": clip.sha256,
        "size": clip.size,
        "camera": {
            "code": camera.code,
            "name": camera.name,
            "address": camera.address,
            "sector": camera.sector,
            "latitude": str(camera.latitude) if camera.latitude is not None else None,
            "longitude": str(camera.longitude) if camera.longitude is not None else None,
        },
        "window": {
            "id": window.pk,
            "start": both_times(window.granted_starts_at),
            "end": both_times(window.granted_ends_at),
            "duration_seconds": _seconds(window.granted_ends_at - window.granted_starts_at),
        },
        "first_frame": both_times(clip.first_at),
        "last_frame": both_times(clip.last_at),
        # From the first to the last frame, next to the window's: the difference is what is
        # missing at the ends or in the outages listed under "outages".
        "duration_seconds": None if clip.seconds is None else round(clip.seconds, 3),
        "frames": clip.frames,
        "method": clip.method,
        "codec": clip.codec,
        "masks": clip.mask,
        "source_segments": [
            {
                "id": segment.pk,
                "start": both_times(segment.started_at),
                "end": both_times(segment.ended_at),
                "sha256_stored_object": segment.sha256,
                "key_id": segment.key.key_id,
            }
            for segment in clip.segments
        ],
    }


def _seconds(delta: Any) -> float:
    return round(delta.total_seconds(), 3)


def outage_entry(window: Window, outage: Outage) -> dict[str, Any]:
    return {
        "window": window.pk,
        "camera": window.camera.code,
        "start": both_times(outage.start),
        "end": both_times(outage.end),
        "duration_seconds": round(outage.seconds, 3),
        "kind": outage.kind,
        "cause": outage.cause,
    }


def clock_record(clips: Sequence[Clip]) -> dict[str, Any]:
    """The time source of the package and the clocks measured while its windows were recorded:
    the checks of the server's clock that frame each window, and per window the camera's clock
    against arrival (least and greatest offset over its source segments)."""
    checks: dict[int, Any] = {}
    cameras = []
    for item in clips:
        window = item.window
        for check in clock.server_checks_around(window.granted_starts_at, window.granted_ends_at):
            checks[check.pk] = check
        measured = clock.camera_offsets(item.segments)
        cameras.append(
            {
                "window": window.pk,
                "camera": window.camera.code,
                "min_offset_ms": measured["min_offset_ms"] if measured else None,
                "max_offset_ms": measured["max_offset_ms"] if measured else None,
                "segments_measured": measured["segments_measured"] if measured else 0,
                "sources": measured["sources"] if measured else [],
            }
        )
    return {
        "images_dated_by": "server_arrival_clock",
        "server_max_offset_ms": settings.CLOCK_MAX_OFFSET_MS,
        "camera_max_drift_ms": settings.CAMERA_MAX_DRIFT_MS,
        "server_checks": [
            {
                "checked_at": both_times(check.checked_at),
                "source": check.source,
                "server": check.server,
                "synchronized": check.synchronized,
                "offset_ms": check.offset_ms,
                "error_ms": check.error_ms,
                "alert": check.alert,
                "text": clock.describe(check),
            }
            for check in sorted(checks.values(), key=lambda c: (c.checked_at, c.pk))
        ],
        "cameras": cameras,
    }


def render(
    *,
    export: Export,
    files: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    prepared_at: datetime,
    signer: Signer,
    outages: Sequence[tuple[Window, Outage]] = (),
    clocks: dict[str, Any] | None = None,
) -> bytes:
    """The manifest's bytes: UTF-8 JSON, keys sorted, so that it reads the same everywhere."""
    requisition = export.requisition
    with translation.override("fr"):
        frame_label = str(LegalFrame(requisition.legal_frame).label)
        decision_label = str(Decision(requisition.decision).label) if requisition.decision else None
    document = {
        "format": FORMAT,
        "kind": KIND,
        "software": {"name": "CSU — Centre de supervision urbain", "version": _version()},
        "package": export.package_name,
        "prepared_at": both_times(prepared_at),
        "prepared_by": _person(export.prepared_by),
        "requisition": {
            "reference": requisition.reference,
            "procedure_number": requisition.procedure_number,
            "legal_frame": requisition.legal_frame,
            "legal_frame_label": frame_label,
            # Art. 77-1-1 CPP: the prosecutor's authorization (None outside that frame; an
            # empty reference in that frame is stated as missing, not hidden).
            "prosecutor_authorization": requisition.prosecutor_authorization
            if requisition.legal_frame == LegalFrame.PRELIMINAIRE
            else None,
            "prosecutor_authorization_missing": requisition.lacks_prosecutor_authorization,
            "officer": _person(requisition.officer),
            "service": str(requisition.service),
            "submitted_at": both_times(requisition.submitted_at),
            "attachment_sha256": requisition.attachment_sha256,
        },
        # The magistrate's decision as decided, never the export's current status.
        "decision": {
            "outcome": requisition.decision or None,
            "status": decision_label,
            "magistrate": _person(requisition.decided_by),
            "decided_at": both_times(requisition.decided_at),
            "reason": requisition.decision_reason,
            "windows": [
                {
                    "id": w.pk,
                    "camera": w.camera.code,
                    "start": both_times(w.starts_at),
                    "end": both_times(w.ends_at),
                    "decision": w.decision,
                    "approved_start": both_times(w.granted_starts_at)
                    if w.decision == Window.Decision.APPROVED
                    else None,
                    "approved_end": both_times(w.granted_ends_at)
                    if w.decision == Window.Decision.APPROVED
                    else None,
                    "refusal_reason": requisition.decision_reason
                    if w.decision == Window.Decision.REFUSED
                    else None,
                    "unavailable": w.unavailable,
                }
                for w in requisition.windows.select_related("camera")
            ],
        },
        "files": files,
        "not_exported": skipped,
        # What the approved windows miss (gaps, unrecorded spans, destroyed footage).
        "outages": [outage_entry(window, outage) for window, outage in outages],
        # Images are dated by the server's clock on arrival: how accurate it was, and how far
        # each camera's own clock (the time it prints in the picture) stood from it.
        "time_source": clocks,
        "signature": {
            "algorithm": "Ed25519",
            "file": SIGNATURE_NAME,
            "public_key_file": PUBLIC_KEY_NAME,
            "public_key_sha256": signer.fingerprint,
        },
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("csu")
    except PackageNotFoundError:
        return "0.1.0"


def readme(
    export: Export,
    fingerprint: str,
    *,
    clips: Sequence[Clip] = (),
    outages: Sequence[tuple[Window, Outage]] = (),
) -> str:
    """LISEZMOI.txt: how to verify, and per approved window its clip (codec, durations) and
    its outages, in French and Paris time."""
    with translation.override("fr"):
        return render_to_string(
            "evidence/package_readme.txt",
            {
                "export": export,
                "requisition": export.requisition,
                "fingerprint": fingerprint,
                "windows": _readme_windows(export, clips, outages),
                "h265": any(clip.codec == "hevc" for clip in clips),
                "h265_players": H265_PLAYERS,
            },
        )


def _readme_windows(
    export: Export, clips: Sequence[Clip], outages: Sequence[tuple[Window, Outage]]
) -> list[dict[str, Any]]:
    by_window = {clip.window.pk: clip for clip in clips}
    windows = export.requisition.windows.filter(decision=Window.Decision.APPROVED)
    rows = []
    for window in windows.select_related("camera").order_by("camera__code", "starts_at", "pk"):
        start, end = window.granted_starts_at, window.granted_ends_at
        clip = by_window.get(window.pk)
        rows.append(
            {
                "camera": f"{window.camera.code} — {window.camera.name}",
                "window": f"du {paris_text(start)} au {paris_text(end)}",
                "window_duration": duration_text((end - start).total_seconds()),
                "clip": None
                if clip is None
                else {
                    "path": clip.path,
                    "codec": codec_label(clip.codec),
                    "duration": duration_text(clip.seconds),
                    "first": paris_text(clip.first_at),
                    "last": paris_text(clip.last_at),
                },
                "outages": [
                    {
                        "text": f"du {paris_text(o.start)} au {paris_text(o.end)} "
                        f"({duration_text(o.seconds)})",
                        "cause": o.cause,
                    }
                    for w, o in outages
                    if w.pk == window.pk
                ],
            }
        )
    return rows


def signature_state(body: bytes | None, signature: str, public_key: str) -> str:
    """Whether ``signature`` (base64) is the city's signature of ``body``, in words for the
    registers: « vérifiée » only for a valid signature by a key the server trusts."""
    if body is None:
        return "absent"
    if not signature or not public_key:
        return "non signé"
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), body)
    except (InvalidSignature, binascii.Error, ValueError):
        return "INVALIDE"
    fingerprint = chain.public_key_fingerprint(key)
    if fingerprint not in trusted_fingerprints():
        return f"INVALIDE (clé {fingerprint[:16]}… inconnue)"
    return f"vérifiée (Ed25519, clé {fingerprint[:16]}…)"
