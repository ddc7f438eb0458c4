"""The extract answering an access request: the requester sharp, everyone else blurred.

The agent — a supervisor whose habilitation carries the extraction right on the camera — marks,
on the recorded images, the areas where the requester appears (normalized polygons, the
privacy-mask format, bounded in size by ``compliance.areas``); every pixel outside them is
blurred beyond recognition, and the camera's software privacy masks are burnt in on top.
Segments are read and verified through ``recordings.playback``; the MP4 is encrypted as it is
written (never in clear on disk), like an evidence package. The DPO then validates it and it is
handed over once (``compliance.services``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

import av
import cv2
import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.actors import Actor
from accounts.roles import Right
from audit.services import record
from cameras.purposes import RIGHT_OF_ACCESS, purpose_label
from compliance.areas import check_keep_areas, kept_percent
from compliance.models import AccessRequest, AccessRequestCamera
from compliance.services import extract_folder
from csu.lib.hashing import HashingWriter
from recordings import crypto, keys, playback

__all__ = ["blur_outside", "extract_build", "extract_folder", "extract_stream"]


def blur_outside(image: np.ndarray, keep: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """The image blurred everywhere except inside the ``keep`` polygons (normalized 0-1)."""
    height, width = image.shape[:2]
    # Pixelate then blur: a Gaussian blur alone can leave a face recognisable at low radius.
    small = cv2.resize(
        image, (max(1, width // 16), max(1, height // 16)), interpolation=cv2.INTER_AREA
    )
    coarse = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    kernel = max(3, (min(width, height) // 20) | 1)
    blurred = cv2.GaussianBlur(coarse, (kernel, kernel), 0)
    mask = np.zeros((height, width), dtype=np.uint8)
    scale = np.array([width, height], dtype=np.float64)
    for points in keep:
        pixels = np.rint(np.asarray(points, dtype=np.float64) * scale).astype(np.int32)
        pixels[:, 0] = np.clip(pixels[:, 0], 0, width - 1)
        pixels[:, 1] = np.clip(pixels[:, 1], 0, height - 1)
        cv2.fillPoly(mask, [pixels], 255)
    image[mask == 0] = blurred[mask == 0]
    return image


def _released() -> str:
    return _(
        "Le délégué à la protection des données a validé cet extrait : il ne peut plus être "
        "modifié."
    )


class _BlurEncoder(playback.Encoder):
    """Playback's encoder, with the requester's areas kept and everything else blurred."""

    def __init__(self, *args: Any, keep: Sequence[Sequence[Sequence[float]]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.keep = keep

    def paint(self, image: np.ndarray) -> None:
        blur_outside(image, self.keep)  # first: the masks stay black even inside kept areas
        super().paint(image)


def extract_build(*, footage: AccessRequestCamera, keep_areas: Any, actor: Actor) -> None:
    """Write the blurred extract of one camera of an open request, audited.

    Needs a habilitation carrying the extraction right on the camera. ValidationError for bad
    or too wide areas, a closed request, an extract the DPO already validated, or no footage.
    """
    request = footage.request
    camera = footage.camera
    decision = access.decide(actor, Right.EXTRACT, camera)
    if not decision:
        raise PermissionDenied(decision.reason)
    if request.status != AccessRequest.Status.OPEN:
        raise ValidationError(_("Cette demande a déjà reçu sa réponse."), code="closed")
    if footage.extract_released_at is not None:
        raise ValidationError(_released(), code="released")
    keep_areas = check_keep_areas(keep_areas)
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
