"""The extract answering an access request: the requester sharp, everyone else blurred.

The agent — a supervisor whose habilitation carries the extraction right on the camera — marks,
on the recorded images, the areas where the requester appears (normalized polygons, the
privacy-mask format, bounded in size by ``compliance.areas``), still or following the requester
through key positions; every pixel outside them is blurred beyond recognition, so is every pixel
of the areas marked to blur (a third party crossing), and the camera's software privacy masks
are burnt in on top.
Segments are read and verified through ``recordings.playback``; the MP4 is encrypted as it is
written (never in clear on disk), like an evidence package. The DPO then validates it and it is
handed over once (``compliance.services``).
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import av
import cv2
import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts import access
from accounts.actors import Actor
from accounts.roles import Right
from audit.services import record
from cameras import video
from cameras.purposes import RIGHT_OF_ACCESS, purpose_label
from compliance.areas import check_blur_areas, check_keep_areas, kept_percent, positions_at
from compliance.models import AccessRequest, AccessRequestCamera
from compliance.services import extract_folder
from csu.lib.hashing import HashingWriter
from recordings import crypto, keys, playback

__all__ = ["blur_outside", "extract_build", "extract_folder", "extract_frame", "extract_stream"]

#: The width of the pictures the areas are drawn on (the editor scales them to the screen).
FRAME_MAX_WIDTH = 1280


def _blurred(image: np.ndarray) -> np.ndarray:
    """The whole image made unrecognisable."""
    height, width = image.shape[:2]
    # Pixelate then blur: a Gaussian blur alone can leave a face recognisable at low radius.
    small = cv2.resize(
        image, (max(1, width // 16), max(1, height // 16)), interpolation=cv2.INTER_AREA
    )
    coarse = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    kernel = max(3, (min(width, height) // 20) | 1)
    return cv2.GaussianBlur(coarse, (kernel, kernel), 0)


def _filled(image: np.ndarray, polygons: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """A mask of the image's size, 255 inside the normalized ``polygons``."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), dtype=np.uint8)
    scale = np.array([width, height], dtype=np.float64)
    for points in polygons:
        pixels = np.rint(np.asarray(points, dtype=np.float64) * scale).astype(np.int32)
        pixels[:, 0] = np.clip(pixels[:, 0], 0, width - 1)
        pixels[:, 1] = np.clip(pixels[:, 1], 0, height - 1)
        cv2.fillPoly(mask, [pixels], 255)
    return mask


def blur_outside(
    image: np.ndarray,
    keep: Sequence[Sequence[Sequence[float]]],
    blur: Sequence[Sequence[Sequence[float]]] = (),
) -> np.ndarray:
    """The image blurred everywhere except inside the ``keep`` polygons, and inside the
    ``blur`` polygons even there (normalized 0-1), in place."""
    blurred = _blurred(image)
    hidden = _filled(image, keep) == 0
    if blur:
        hidden |= _filled(image, blur) > 0
    image[hidden] = blurred[hidden]
    return image


def _released() -> str:
    return _(
        "Le délégué à la protection des données a validé cet extrait : il ne peut plus être "
        "modifié."
    )


def _open_to_extract(footage: AccessRequestCamera, actor: Actor) -> access.Decision:
    """The agent's decision to work on this camera's extract: the extraction right on the
    camera, the request still open, the extract not yet validated by the DPO."""
    decision = access.decide(actor, Right.EXTRACT, footage.camera)
    if not decision:
        raise PermissionDenied(decision.reason)
    if footage.request.status != AccessRequest.Status.OPEN:
        raise ValidationError(_("Cette demande a déjà reçu sa réponse."), code="closed")
    if footage.extract_released_at is not None:
        raise ValidationError(_released(), code="released")
    return decision


class _BlurEncoder(playback.Encoder):
    """Playback's encoder, with the requester's areas kept and everything else blurred; moving
    areas stand, in each picture, where they are at the moment it was filmed."""

    def __init__(self, *args: Any, keep: list[Any], blur: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.keep, self.blur = keep, blur

    def paint(self, image: np.ndarray, wall: float) -> None:
        t = wall - self.start
        # First: the masks stay black even inside kept areas.
        blur_outside(image, positions_at(self.keep, t), positions_at(self.blur, t))
        super().paint(image, wall)


def extract_build(
    *, footage: AccessRequestCamera, keep_areas: Any, actor: Actor, blur_areas: Any = None
) -> None:
    """Write the blurred extract of one camera of an open request, audited.

    ``keep_areas`` and ``blur_areas`` as ``compliance.areas`` describes them (still or moving).

    Needs a habilitation carrying the extraction right on the camera. ValidationError for bad
    or too wide areas, a closed request, an extract the DPO already validated, or no footage.
    """
    request = footage.request
    camera = footage.camera
    decision = _open_to_extract(footage, actor)
    duration = (request.ends_at - request.starts_at).total_seconds()
    keep_areas = check_keep_areas(keep_areas, duration=duration)
    blur_areas = check_blur_areas([] if blur_areas is None else blur_areas, duration=duration)
    segments = playback.range_segments(camera, request.starts_at, request.ends_at)
    if not segments:
        raise ValidationError(
            _("Aucun enregistrement conservé sur cette période pour la caméra %(camera)s.")
            % {"camera": camera.code},
            code="no_footage",
        )
    master = keys.master_keys()[0]
    key_id = f"access-request/{request.pk}/{camera.code}"
    data_key = crypto.new_data_key()
    # A fresh name each time: a rebuild that fails must leave the extract already prepared.
    path = extract_folder() / f"{request.pk}-{footage.pk}-{secrets.token_hex(8)}.csuseg"
    polygons = playback.software_polygons(camera)
    try:
        with open(path, "wb") as handle:
            with crypto.EncryptingWriter(handle, data_key, key_id) as encrypted:
                hashing = HashingWriter(encrypted)
                output = av.open(hashing, "w", format="mp4", options=playback.MP4_OPTIONS)
                encoder = _BlurEncoder(
                    output,
                    request.starts_at.timestamp(),
                    request.ends_at.timestamp(),
                    polygons,
                    max_width=0,
                    keep=keep_areas,
                    blur=blur_areas,
                )
                try:
                    for segment in segments:
                        data = playback.read_segment(segment, camera, actor)
                        if not encoder.add(data, segment.started_at.timestamp()):
                            break
                    encoder.flush()
                finally:
                    output.close()
            handle.flush()
            os.fsync(handle.fileno())
        if not encoder.frames:
            raise ValidationError(_("Aucune image enregistrée sur cette période."), code="empty")
    except playback.PlaybackError as exc:
        path.unlink(missing_ok=True)
        raise ValidationError(str(exc), code="unreadable") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    try:
        with transaction.atomic():
            # Locked and read again: answered meanwhile, or rebuilt by someone else.
            current = (
                AccessRequestCamera.objects.select_for_update()
                .select_related("request")
                .get(pk=footage.pk)
            )
            if current.request.status != AccessRequest.Status.OPEN:
                raise ValidationError(_("Cette demande a déjà reçu sa réponse."), code="closed")
            if current.extract_released_at is not None:
                raise ValidationError(_released(), code="released")
            previous, replaced = current.extract_path, current.extract_sha256
            AccessRequestCamera.objects.filter(pk=footage.pk).update(
                keep_areas=keep_areas,
                blur_areas=blur_areas,
                extract_path=path.name,
                extract_key_id=key_id,
                extract_key=master.wrap(key_id, data_key),
                extract_sha256=hashing.hexdigest(),
                extract_size=hashing.size,
                extract_frames=encoder.frames,
                extract_built_at=timezone.now(),
                extract_built_by=actor,
            )
            footage.refresh_from_db()
            record(
                "access_request.extract_built",
                actor=actor,
                target=request,
                target_label=request.reference,
                reason=_("Réponse à la demande d'accès %(ref)s — %(purpose)s")
                % {"ref": request.reference, "purpose": purpose_label(RIGHT_OF_ACCESS)},
                details={
                    # Not a purpose of the system (CSI L251-2): the filmed person's right.
                    "purpose": RIGHT_OF_ACCESS,
                    "camera": camera.code,
                    "segments": [segment.pk for segment in segments],
                    "keep_areas": keep_areas,
                    "kept_percent": kept_percent(keep_areas),
                    "blur_areas": blur_areas,
                    "replaces": replaced or None,
                    "mask_version": playback.mask_version(camera),
                    "frames": encoder.frames,
                    "sha256": footage.extract_sha256,
                    "habilitation": decision.habilitation.pk if decision.habilitation else None,
                },
            )
            if previous and previous != path.name:
                # The extract it replaces goes once the new one is on record.
                transaction.on_commit(lambda: (extract_folder() / previous).unlink(missing_ok=True))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _frame_at(data: bytes, segment_start: float, wall: float) -> np.ndarray | None:
    """The segment's picture filmed at ``wall`` or just after (the last one if none after)."""
    found: np.ndarray | None = None
    with av.open(io.BytesIO(data), "r") as source:
        stream = source.streams.video[0]
        label = video.format_label(stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width > FRAME_MAX_WIDTH:
            width, height = FRAME_MAX_WIDTH, max(2, height * FRAME_MAX_WIDTH // width)
        for frame in video.decode(source, stream):
            found = video.picture(frame, label, width=width, height=height)
            if segment_start + float(frame.time or 0.0) >= wall:
                break
    return found


def extract_frame(*, footage: AccessRequestCamera, t: float, actor: Actor) -> bytes:
    """The JPEG of the camera's recorded picture ``t`` seconds into the request's period, the
    software masks burnt in: the picture the agent draws the areas on. Audited.

    Same conditions as building the extract (extraction right, request open, not validated);
    ValidationError outside the period or without footage at that moment.
    """
    request = footage.request
    camera = footage.camera
    decision = _open_to_extract(footage, actor)
    duration = (request.ends_at - request.starts_at).total_seconds()
    if not 0 <= t <= duration:
        raise ValidationError(
            _("Cet instant tombe hors de la période demandée (0 à %(d)s s).")
            % {"d": number_format(round(duration))},
            code="outside",
        )
    at = request.starts_at + timedelta(seconds=t)
    segments = (
        playback.range_segments(camera, at, at + timedelta(seconds=1))
        or (playback.range_segments(camera, request.starts_at, at)[-1:])
    )
    if not segments:
        raise ValidationError(
            _("Aucun enregistrement conservé à cet instant pour la caméra %(camera)s.")
            % {"camera": camera.code},
            code="no_footage",
        )
    segment = segments[0]
    try:
        image = _frame_at(
            playback.read_segment(segment, camera, actor),
            segment.started_at.timestamp(),
            at.timestamp(),
        )
    except (playback.PlaybackError, video.UndecodableFormat) as exc:
        raise ValidationError(str(exc), code="unreadable") from exc
    except av.error.FFmpegError as exc:
        raise ValidationError(
            _("L'enregistrement de cet instant ne peut pas être décodé sur ce serveur."),
            code="unreadable",
        ) from exc
    if image is None:
        raise ValidationError(_("Aucune image enregistrée à cet instant."), code="empty")
    video.apply_masks(image, playback.software_polygons(camera))
    with transaction.atomic():
        record(
            "access_request.frame_viewed",
            actor=actor,
            target=request,
            target_label=request.reference,
            reason=_("Réponse à la demande d'accès %(ref)s — %(purpose)s")
            % {"ref": request.reference, "purpose": purpose_label(RIGHT_OF_ACCESS)},
            details={
                "purpose": RIGHT_OF_ACCESS,
                "camera": camera.code,
                "at": at,
                "segment": segment.pk,
                "mask_version": playback.mask_version(camera),
                "habilitation": decision.habilitation.pk if decision.habilitation else None,
            },
        )
    return video.encode_jpeg(image)


def extract_stream(footage: AccessRequestCamera) -> Iterator[bytes]:
    """The clear MP4, decrypted chunk by chunk.

    Key unwrapped and file opened at once: a destruction that follows (the answer) cannot cut
    a download already granted.
    """
    if footage.extract_key is None:  # destroyed with its key: the file is unreadable
        raise FileNotFoundError(f"the extract of {footage} was destroyed")
    data_key = crypto.unwrap_data_key(
        footage.extract_key_id, bytes(footage.extract_key), keys.master_keys()
    )
    handle = open(extract_folder() / footage.extract_path, "rb")  # noqa: SIM115 (closed below)

    def chunks() -> Iterator[bytes]:
        with handle:
            yield from crypto.decrypt_stream(handle, data_key)

    return chunks()
