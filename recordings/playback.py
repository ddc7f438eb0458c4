"""Watching recorded footage: the segments of a range decrypted, joined into one MP4, masked.

A habilitated person asks for a camera, a range, the procedure it is watched within and states a
reason (:func:`playback_create`). Recorded images are viewed only within a procedure in course
that covers the camera and the whole range (a judicial requisition, an access request:
``recordings.procedures``), or, where the city turned it on, over the last hours for a "levée
de doute". The server checks the habilitation and the procedure, verifies every segment of the
range (SHA-256 of the stored object, then the authenticated decryption), and writes one
fragmented MP4 that browsers play:

* by stream copy (no decoding) when the camera has no software privacy mask and every segment
  carries the same stream parameters;
* otherwise decoded, masked (each software polygon filled, ``cameras.video.apply_masks``) and
  encoded with libx264 at a bounded width: masks are burnt in, nothing lets a viewer remove them.

Plaintext never reaches the disk: the MP4 is encrypted as it is written (the segment object
format of ``recordings.crypto``, under a one-off key held only in the person's session), which
also gives random access for HTTP Range requests (:func:`open_playback`). A playback is a
short-lived token in the session; a scheduled task deletes the file once the token has expired
(:func:`playback_files_sweep`) and expired sessions, with their playback keys
(:func:`expired_sessions_clear`).
"""

from __future__ import annotations

import base64
import io
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from importlib import import_module
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.actors import Actor, SystemActor
from accounts.roles import Right
from audit import signals
from audit.services import record
from cameras import video
from cameras.models import Camera
from cameras.purposes import Purpose, purpose_label
from csu.lib.times import paris_text
from recordings import crypto, keys, procedures, store
from recordings.models import Segment

#: Who deletes the files of expired playbacks, as the audit trail names it.
SWEEPER = SystemActor("celery:sweep_playback_files")

logger = logging.getLogger(__name__)

SESSION_KEY = "recordings.playbacks"
MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
#: Time base of the joined file: 90 kHz, the usual video clock, fine enough for any frame rate.
OUTPUT_TIME_BASE = Fraction(1, 90_000)
ENCODE_TIME_BASE = Fraction(1, 1000)
ENCODE_PRESET = "fast"
ENCODE_CRF = "23"
#: Minimum length of the reason stated before watching.
REASON_MIN_LENGTH = 10
#: Without a procedure ("levée de doute"), the reason is all the audit trail has: a longer one.
OPERATIONAL_REASON_MIN_LENGTH = 20
READ_BLOCK = crypto.DEFAULT_CHUNK_SIZE


class PlaybackError(Exception):
    """The footage cannot be shown; the message says why, in words for the person asking."""


class UndecodableFootage(PlaybackError):
    """The camera's format cannot be decoded on this server (``cameras.video.UndecodableFormat``
    met while re-encoding): the footage is kept, but cannot be masked or shown here."""


@dataclass(frozen=True)
class Playback:
    """A playback prepared for one session: where its file is and how to open it."""

    token: str
    camera_id: int
    camera_code: str
    start: datetime
    end: datetime
    reason: str
    masked: bool
    size: int
    expires_at: datetime
    key: bytes
    #: What the playback was watched within, in words: the procedure, or the levée de doute.
    basis: str = ""

    def as_session(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "camera_code": self.camera_code,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reason": self.reason,
            "masked": self.masked,
            "size": self.size,
            "expires_at": self.expires_at.isoformat(),
            "key": base64.b64encode(self.key).decode(),
            "basis": self.basis,
        }

    @classmethod
    def from_session(cls, token: str, data: dict[str, Any]) -> Playback:
        return cls(
            token=token,
            camera_id=data["camera_id"],
            camera_code=data["camera_code"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            reason=data["reason"],
            masked=data["masked"],
            size=data["size"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            key=base64.b64decode(data["key"]),
            basis=data.get("basis", ""),
        )

    @property
    def path(self) -> Path:
        return playback_folder() / f"{self.token}.csuseg"


def playback_folder() -> Path:
    folder = Path(settings.DATA_DIR) / "playback"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- Checks -----------------------------------------------------------------------------------


def check_range(start: datetime, end: datetime) -> None:
    """A range that can be watched at once: in order, in the past, not longer than allowed."""
    if end <= start:
        raise PlaybackError(_("La fin de la période doit suivre son début."))
    if start >= timezone.now():
        raise PlaybackError(_("La période demandée commence dans le futur."))
    limit = settings.RECORDING_PLAYBACK_MAX_SECONDS
    if (end - start).total_seconds() > limit:
        minutes = limit // 60
        raise PlaybackError(
            _(
                "La période demandée dépasse la durée maximale de relecture (%(minutes)s min) : "
                "réduisez-la ou faites plusieurs relectures."
            )
            % {"minutes": minutes}
        )


def range_segments(camera: Camera, start: datetime, end: datetime) -> list[Segment]:
    """The stored segments of ``camera`` that overlap [start, end), in time order."""
    return list(
        Segment.objects.filter(
            camera=camera, state=Segment.State.STORED, started_at__lt=end, ended_at__gt=start
        )
        .select_related("key__kek")
        .order_by("started_at")
    )


def software_polygons(camera: Camera) -> list[list[list[float]]]:
    mask = camera.current_mask()
    return mask.software_polygons if mask else []


# --- Reading segments ---------------------------------------------------------------------------


def read_segment(segment: Segment, camera: Camera, actor: Actor) -> bytes:
    """The decrypted segment; an altered one is audited and refused in words."""
    try:
        return store.segment_read(segment)
    except crypto.SegmentIntegrityError as exc:
        logger.error("segment %s of %s failed its integrity check: %s", segment.pk, camera, exc)
        with transaction.atomic():
            record(
                "recording.integrity_failed",
                actor=actor,
                target=camera,
                details={
                    "segment": segment.pk,
                    "storage_path": segment.storage_path,
                    "started_at": segment.started_at,
                    "ended_at": segment.ended_at,
                    "error": str(exc),
                },
            )
        signals.report_integrity_failure(
            key=f"recording.segment:{segment.pk}",
            detector="recording.integrity_failed",
            summary=str(exc),
            details={
                "camera": camera.code,
                "segment": segment.pk,
                "storage_path": segment.storage_path,
                "started_at": segment.started_at.isoformat(),
                "ended_at": segment.ended_at.isoformat(),
            },
            at=timezone.now(),
        )
        raise PlaybackError(
            _(
                "L'enregistrement du %(start)s au %(end)s a échoué au contrôle d'intégrité : "
                "il a été altéré et ne peut pas être montré. L'incident est consigné au journal "
                "d'audit ; prévenez l'administrateur."
            )
            % {
                "start": timezone.localtime(segment.started_at).strftime("%d/%m/%Y %H:%M:%S"),
                "end": timezone.localtime(segment.ended_at).strftime("%H:%M:%S"),
            }
        ) from exc
    except keys.KeyDestroyed as exc:
        raise PlaybackError(
            _("Cet enregistrement a été détruit (clé du jour effacée) : il n'est plus lisible.")
        ) from exc


def stream_parameters(data: bytes) -> tuple[str, int, int, bytes | None]:
    with av.open(io.BytesIO(data), "r") as container:
        if not container.streams.video:
            raise PlaybackError(_("Un segment de la période ne contient pas de vidéo."))
        context = container.streams.video[0].codec_context
        return context.name, context.width, context.height, context.extradata


#: What a browser's <video> plays (Chromium: no H.265, no 10-bit or 4:4:4 H.264): anything else
#: is decoded and re-encoded for playback, as masked footage is.
BROWSER_CODECS = frozenset({"h264"})
BROWSER_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})


def segment_format(data: bytes) -> tuple[tuple[str, int, int, bytes | None], bool]:
    """The segment's stream parameters, and whether a browser plays it as it is."""
    with av.open(io.BytesIO(data), "r") as container:
        if not container.streams.video:
            raise PlaybackError(_("Un segment de la période ne contient pas de vidéo."))
        context = container.streams.video[0].codec_context
        playable = context.name in BROWSER_CODECS and context.pix_fmt in BROWSER_PIXEL_FORMATS
        return (context.name, context.width, context.height, context.extradata), playable


# --- Writing the joined file ------------------------------------------------------------------


class Copier:
    """Joins segments packet by packet, timestamps rebased on the wall clock of the range."""

    def __init__(self, output: av.container.OutputContainer, start: float, end: float) -> None:
        self.output = output
        self.start, self.end = start, end
        self.stream: av.VideoStream | None = None
        self.origin: float | None = None
        self.prev_dts: int | None = None
        self.frames = 0

    def _ticks(self, wall: float) -> int:
        assert self.origin is not None
        return round((wall - self.origin) / OUTPUT_TIME_BASE)

    def _mux(self, packet: av.Packet, wall_dts: float, wall_pts: float, tb: Fraction) -> None:
        if self.origin is None:
            self.origin = wall_dts
        dts = self._ticks(wall_dts)
        if self.prev_dts is not None and dts <= self.prev_dts:
            dts = self.prev_dts + 1
        pts = max(self._ticks(wall_pts), dts)
        duration = round(packet.duration * tb / OUTPUT_TIME_BASE) if packet.duration else 0
        packet.time_base = OUTPUT_TIME_BASE
        packet.dts, packet.pts, packet.duration = dts, pts, duration
        packet.stream = self.stream
        self.output.mux(packet)
        self.prev_dts = dts
        self.frames += 1

    def add(self, data: bytes, segment_start: float) -> bool:
        """Copy the packets of one segment that fall in the range; False once past its end."""
        with av.open(io.BytesIO(data), "r") as source:
            stream = source.streams.video[0]
            tb = stream.time_base or OUTPUT_TIME_BASE
            if self.stream is None:
                self.stream = self.output.add_stream_from_template(stream)
                self.stream.time_base = OUTPUT_TIME_BASE
            # Packets before the range are held back from the last key frame on: the first
            # frame shown must be decodable, so the file starts at most one GOP early.
            held: list[tuple[av.Packet, float, float]] = []
            for packet in source.demux(stream):
                if packet.size == 0 or packet.dts is None:
                    continue
                wall_dts = segment_start + float(packet.dts * tb)
                pts = packet.pts if packet.pts is not None else packet.dts
                wall_pts = segment_start + float(pts * tb)
                if wall_dts >= self.end:
                    return False
                if self.origin is None and wall_pts < self.start:
                    if packet.is_keyframe:
                        held.clear()
                    if packet.is_keyframe or held:
                        held.append((packet, wall_dts, wall_pts))
                    continue
                if self.origin is None and not held and not packet.is_keyframe:
                    continue
                for early in held:
                    self._mux(early[0], early[1], early[2], tb)
                held.clear()
                self._mux(packet, wall_dts, wall_pts, tb)
        return True


class Encoder:
    """Decodes segments, burns the software masks in and encodes one H.264 stream."""

    def __init__(
        self,
        output: av.container.OutputContainer,
        start: float,
        end: float,
        polygons: Sequence[Sequence[Sequence[float]]],
        *,
        max_width: int | None = None,
        preset: str = ENCODE_PRESET,
        crf: str = ENCODE_CRF,
    ) -> None:
        self.output = output
        self.start, self.end = start, end
        self.polygons = polygons
        # Playback bounds the width; an evidence export keeps the full picture (max_width=0).
        self.max_width = settings.RECORDING_PLAYBACK_MAX_WIDTH if max_width is None else max_width
        self.preset, self.crf = preset, crf
        self.stream: av.VideoStream | None = None
        self.width = self.height = 0
        self.first_ms: int | None = None
        self.last_ms = -1
        self.frames = 0

    def _open(self, source_stream: av.VideoStream) -> None:
        rate = source_stream.average_rate or source_stream.guessed_rate or Fraction(12)
        width, height = source_stream.codec_context.width, source_stream.codec_context.height
        limit = self.max_width
        if limit and width > limit:
            height, width = height * limit // width, limit
        self.width, self.height = max(2, width - width % 2), max(2, height - height % 2)
        stream = self.output.add_stream(
            "libx264", rate=rate, options={"preset": self.preset, "crf": self.crf}
        )
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = ENCODE_TIME_BASE
        stream.codec_context.time_base = ENCODE_TIME_BASE
        # A key frame every two seconds keeps seeking in the browser quick.
        stream.codec_context.gop_size = max(1, round(float(rate) * 2))
        self.stream = stream

    def paint(self, image: np.ndarray, wall: float) -> None:
        """What is burnt into each decoded picture (in place), filmed at ``wall`` (epoch
        seconds): the software masks."""
        video.apply_masks(image, self.polygons)

    def add(self, data: bytes, segment_start: float) -> bool:
        """Encode the segment's pictures that fall in the range; False once past its end.

        UndecodableFootage when this server cannot decode the camera's format.
        """
        with av.open(io.BytesIO(data), "r") as source:
            source_stream = source.streams.video[0]
            label = video.format_label(source_stream)
            if self.stream is None:
                self._open(source_stream)
            assert self.stream is not None
            try:
                return self._add(source, source_stream, segment_start, label)
            except video.UndecodableFormat as exc:
                raise UndecodableFootage(str(exc)) from exc

    def _add(
        self,
        source: av.container.InputContainer,
        source_stream: av.VideoStream,
        segment_start: float,
        label: str,
    ) -> bool:
        assert self.stream is not None
        for frame in video.decode(source, source_stream):
            wall = segment_start + float(frame.time or 0.0)
            if wall < self.start:
                continue
            if wall >= self.end:
                return False
            image = video.picture(frame, label, width=self.width, height=self.height)
            self.paint(image, wall)
            picture = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            ms = max(self.last_ms + 1, round((wall - self.start) * 1000))
            picture.pts, picture.time_base = ms, ENCODE_TIME_BASE
            if self.first_ms is None:
                self.first_ms = ms
            self.last_ms = ms
            self.output.mux(self.stream.encode(picture))
            self.frames += 1
        return True

    def flush(self) -> None:
        if self.stream is not None:
            self.output.mux(self.stream.encode(None))


def _write(
    camera: Camera,
    segments: list[Segment],
    start: datetime,
    end: datetime,
    polygons: list[list[list[float]]],
    target: crypto.EncryptingWriter,
    actor: Actor,
) -> int:
    """Write the joined MP4 into ``target``; the number of frames written."""
    # First pass: every segment verified before a byte of output exists, and the stream
    # parameters compared (stream copy needs them identical from one segment to the next).
    formats = [segment_format(read_segment(segment, camera, actor)) for segment in segments]
    parameters = {found for found, _playable in formats}
    # Re-encoded when masks are burnt in, when the segments cannot be joined by copy, or when
    # a browser could not play the camera's format (it would show a black picture).
    encode = bool(polygons) or len(parameters) > 1 or not all(ok for _found, ok in formats)
    output = av.open(target, "w", format="mp4", options=MP4_OPTIONS)
    writer: Copier | Encoder
    if encode:
        writer = Encoder(output, start.timestamp(), end.timestamp(), polygons)
    else:
        writer = Copier(output, start.timestamp(), end.timestamp())
    try:
        for segment in segments:
            if not writer.add(read_segment(segment, camera, actor), segment.started_at.timestamp()):
                break
        if isinstance(writer, Encoder):
            writer.flush()
    finally:
        output.close()
    return writer.frames


# --- Services ---------------------------------------------------------------------------------


def playback_files_sweep(*, now: float | None = None) -> int:
    """Delete the files of playbacks whose token has expired (whoever's session held them);
    run on a schedule (recordings.tasks.sweep_playback_files). Returns how many went.

    A file is written before its token's lifetime starts, so a file older than that lifetime
    (plus a minute for the slowest write) belongs to an expired token — or to a preparation
    whose process was killed outright. A run that deleted something leaves one audit event
    (how many files, their bytes, the oldest and newest), read by the register of derived files.
    """
    cutoff = (now or time.time()) - settings.RECORDING_PLAYBACK_TOKEN_SECONDS - 60
    sizes: list[int] = []
    times: list[float] = []
    for path in playback_folder().glob("*.csuseg"):
        try:
            stat = path.stat()
            if stat.st_mtime < cutoff:
                path.unlink()
                sizes.append(stat.st_size)
                times.append(stat.st_mtime)
        except FileNotFoundError:  # another sweep got there first
            continue
    if sizes:
        logger.info("%d expired playback files deleted", len(sizes))
        with transaction.atomic():
            record(
                "recording.playback_files_destroyed",
                actor=SWEEPER,
                target_type="recordings.playback",
                target_id="playback",
                reason=_("Relectures expirées (validité de %(minutes)s minutes)")
                % {"minutes": settings.RECORDING_PLAYBACK_TOKEN_SECONDS // 60},
                details={
                    "files": len(sizes),
                    "bytes": sum(sizes),
                    "oldest": datetime.fromtimestamp(min(times), tz=UTC),
                    "newest": datetime.fromtimestamp(max(times), tz=UTC),
                },
            )
    return len(sizes)


def expired_sessions_clear() -> int:
    """Django's ``clearsessions``: expired sessions deleted from the session store, since a
    session holds the one-off keys of its playbacks. Returns how many went (0 for a store that
    cannot count them)."""
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    model = engine.get_model_class() if hasattr(engine, "get_model_class") else None
    expired = model.objects.filter(expire_date__lt=timezone.now()).count() if model else 0
    engine.clear_expired()
    return expired


@dataclass(frozen=True)
class Basis:
    """What a replay is watched within: a procedure in course, or the levée de doute."""

    kind: str
    id: int | None
    reference: str
    label: str
    #: What the procedure itself makes the viewing serve, "" when the viewer names it.
    purpose: str = ""

    @property
    def operational(self) -> bool:
        return self.kind == procedures.OPERATIONAL

    def details(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "reference": self.reference, "label": self.label}


def reason_min_length(kind: str | None) -> int:
    return OPERATIONAL_REASON_MIN_LENGTH if kind == procedures.OPERATIONAL else REASON_MIN_LENGTH


def playback_basis(
    *,
    camera: Camera,
    start: datetime,
    end: datetime,
    kind: str | None,
    procedure_id: int | None,
    actor: Actor,
    now: datetime | None = None,
) -> Basis:
    """The procedure (``kind`` #``procedure_id``) that allows watching [start, end) of
    ``camera``: in course, covering the camera and the whole range. Without a procedure, the
    levée de doute (``kind`` OPERATIONAL) where RECORDING_REPLAY_OPERATIONAL_HOURS allows it,
    over those last hours only.

    PermissionDenied for the levée de doute where the city has not allowed it; PlaybackError,
    in words, for anything else.
    """
    if kind == procedures.OPERATIONAL:
        hours = procedures.operational_hours()
        if hours <= 0:
            raise PermissionDenied(
                _(
                    "La relecture sans procédure (levée de doute) n'est pas ouverte : les images "
                    "enregistrées ne sont visionnées que dans le cadre d'une réquisition "
                    "judiciaire ou d'une demande d'accès."
                )
            )
        since = (now or timezone.now()) - timedelta(hours=hours)
        if start < since:
            raise PlaybackError(
                _(
                    "Sans procédure, seules les %(hours)s dernières heures peuvent être relues "
                    "(levée de doute) : la période demandée commence le %(start)s, avant le "
                    "%(since)s. Des images plus anciennes ne se relisent que dans le cadre "
                    "d'une réquisition judiciaire ou d'une demande d'accès."
                )
                % {"hours": hours, "start": paris_text(start), "since": paris_text(since)}
            )
        return Basis(procedures.OPERATIONAL, None, "", _("Levée de doute"))
    if not kind or procedure_id is None:
        raise PlaybackError(
            _(
                "Les images enregistrées ne sont visionnées que dans le cadre d'une procédure : "
                "choisissez la réquisition judiciaire ou la demande d'accès qui couvre cette "
                "caméra et cette période."
            )
        )
    procedure = procedures.find(camera, kind, procedure_id, actor)
    if procedure is None:
        raise PlaybackError(
            _(
                "Cette procédure n'est pas en cours ou ne couvre pas la caméra %(code)s : la "
                "relecture n'est pas possible dans son cadre."
            )
            % {"code": camera.code}
        )
    if not procedure.covers(start, end):
        raise PlaybackError(
            _(
                "La période demandée n'est pas entièrement comprise dans ce que %(procedure)s "
                "couvre sur la caméra %(code)s (%(windows)s) : choisissez une période à "
                "l'intérieur de l'une de ces plages."
            )
            % {
                "procedure": procedure.label,
                "code": camera.code,
                "windows": " ; ".join(window.text for window in procedure.windows),
            }
        )
    return Basis(
        procedure.kind, procedure.id, procedure.reference, procedure.label, procedure.purpose
    )


def playback_purpose(*, camera: Camera, basis: Basis, purpose: str) -> str:
    """What the replay serves: the purpose its procedure imposes (an access request: the right
    of access), else the CSI L251-2 purpose the viewer names, which the camera's authorization
    must list. PlaybackError, in words, otherwise."""
    chosen = (purpose or "").strip()
    if basis.purpose:
        if chosen and chosen != basis.purpose:
            raise PlaybackError(
                _("Dans le cadre de %(procedure)s, la relecture sert : %(purpose)s.")
                % {"procedure": basis.label, "purpose": purpose_label(basis.purpose)}
            )
        return basis.purpose
    if not chosen:
        raise PlaybackError(_("Indiquez la finalité (CSI L251-2) poursuivie par cette relecture."))
    if chosen not in Purpose.values:
        raise PlaybackError(_("Finalité inconnue : %(code)s.") % {"code": chosen})
    refusal = camera.purpose_refusal(chosen)
    if refusal:
        raise PlaybackError(refusal)
    return chosen


def playback_create(
    *,
    camera: Camera,
    start: datetime,
    end: datetime,
    reason: str,
    procedure: tuple[str, int | None] | None,
    purpose: str,
    actor: Actor,
    session: Any,
) -> Playback:
    """Prepare the footage of ``camera`` over [start, end) for ``actor``'s session, audited
    with the procedure it is watched within (``procedure``: (kind, id), or (OPERATIONAL, None)
    for a levée de doute) and the purpose it serves (``purpose``: see playback_purpose).

    PermissionDenied (with decide()'s reason) without a replay habilitation covering the
    camera, or for a levée de doute the city has not allowed; PlaybackError for a bad range,
    no procedure covering the camera and the whole range, no footage, or an altered segment.
    """
    decision = access.decide(actor, Right.REPLAY, camera)
    if not decision:
        raise PermissionDenied(decision.reason)
    kind, procedure_id = procedure or (None, None)
    reason = (reason or "").strip()
    minimum = reason_min_length(kind)
    if len(reason) < minimum:
        raise PlaybackError(
            _("Indiquez le motif de la relecture (%(n)s caractères au moins).") % {"n": minimum}
        )
    check_range(start, end)
    basis = playback_basis(
        camera=camera,
        start=start,
        end=end,
        kind=kind,
        procedure_id=procedure_id,
        actor=actor,
    )
    purpose = playback_purpose(camera=camera, basis=basis, purpose=purpose)
    segments = range_segments(camera, start, end)
    if not segments:
        raise PlaybackError(_("Aucun enregistrement conservé sur cette période."))
    polygons = software_polygons(camera)
    token = secrets.token_urlsafe(24)
    data_key = crypto.new_data_key()
    path = playback_folder() / f"{token}.csuseg"
    try:
        with (
            open(path, "wb") as handle,
            crypto.EncryptingWriter(handle, data_key, f"playback/{token}") as target,
        ):
            frames = _write(camera, segments, start, end, polygons, target, actor)
            if not frames:
                raise PlaybackError(_("Aucune image enregistrée sur cette période."))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    playback = Playback(
        token=token,
        camera_id=camera.pk,
        camera_code=camera.code,
        start=start,
        end=end,
        reason=reason,
        masked=bool(polygons),
        size=path.stat().st_size,
        expires_at=timezone.now() + timedelta(seconds=settings.RECORDING_PLAYBACK_TOKEN_SECONDS),
        key=data_key,
        basis=basis.label,
    )
    try:
        with transaction.atomic():
            record(
                "recording.playback",
                actor=actor,
                target=camera,
                # The registers show the reason: it names the procedure watched within and
                # the purpose served.
                reason=_("%(basis)s — %(purpose)s : %(reason)s")
                % {"basis": basis.label, "purpose": purpose_label(purpose), "reason": reason},
                details={
                    "basis": basis.kind,
                    "purpose": purpose,
                    "procedure": basis.details(),
                    "start": start,
                    "end": end,
                    "segments": [segment.pk for segment in segments],
                    "masked": bool(polygons),
                    "mask_version": mask_version(camera),
                    "frames": frames,
                    "habilitation": decision.habilitation.pk if decision.habilitation else None,
                },
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    playbacks = dict(session.get(SESSION_KEY, {}))
    now = timezone.now()
    playbacks = {
        token_: data
        for token_, data in playbacks.items()
        if datetime.fromisoformat(data["expires_at"]) > now
    }
    playbacks[token] = playback.as_session()
    session[SESSION_KEY] = playbacks
    return playback


def mask_version(camera: Camera) -> int | None:
    mask = camera.current_mask()
    return mask.version if mask else None


def playback_get(session: Any, token: str) -> Playback | None:
    """The session's playback named ``token`` if it has not expired and its file still exists."""
    data = session.get(SESSION_KEY, {}).get(token)
    if not data:
        return None
    playback = Playback.from_session(token, data)
    if playback.expires_at <= timezone.now() or not playback.path.exists():
        return None
    return playback


class PlaybackFile:
    """Random access to the plaintext of a prepared playback (decrypted chunk by chunk)."""

    def __init__(self, playback: Playback) -> None:
        self._handle = open(playback.path, "rb")  # noqa: SIM115 (closed by close())
        try:
            self._decryptor = crypto.SegmentDecryptor(self._handle, playback.key)
        except BaseException:
            self._handle.close()
            raise
        self.size = self._decryptor.plaintext_size

    def iter_range(self, first: int, last: int) -> Iterator[bytes]:
        """Bytes ``first`` to ``last`` inclusive, in blocks; closes the file at the end."""
        try:
            position = first
            while position <= last:
                block = self._decryptor.read(position, min(READ_BLOCK, last - position + 1))
                if not block:
                    return
                yield block
                position += len(block)
        finally:
            self.close()

    def close(self) -> None:
        self._handle.close()


def open_playback(playback: Playback) -> PlaybackFile:
    return PlaybackFile(playback)
