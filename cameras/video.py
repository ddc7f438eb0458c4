"""Reading images from a camera's source, and burning software privacy masks into them.

Sources: ``rtsp://`` (PyAV), ``http(s)://`` serving MJPEG (multipart/x-mixed-replace) or one
image per request, and ``file://`` (a video file played in a loop at its own pace, starting where
the wall clock says, as if it had been playing since midnight). Every read is bounded in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import av
import cv2
import numpy as np
from django.utils.translation import gettext as _

from cameras.sources import (
    SourceError,
    check_allowed,
    http_open,
    log_failure,
    open_failed,
    with_credentials,
)

__all__ = [
    "Frame",
    "Sample",
    "SourceError",
    "UndecodableFormat",
    "apply_masks",
    "decode",
    "encode_jpeg",
    "grab",
    "sample",
]

#: Fill colour of software masks (BGR).
MASK_COLOUR = (0, 0, 0)
JPEG_QUALITY = 85


#: Packets fed from the first key frame on without a single picture coming out before the format
#: counts as undecodable: a decoder holds back a few pictures (reordering, frame threads), never
#: dozens. Before the first key frame nothing is expected (a live stream joined mid-GOP).
UNDECODED_AFTER_KEY = 48
#: Packets without a picture, key frame flagged or not, past which the format counts as such.
UNDECODED_PACKETS = 1000


class UndecodableFormat(SourceError):
    """The camera sends a legal format that this server cannot decode (no decoder for it, or
    not one picture out of it): said in words, never shown as a black or empty image."""

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(
            _(
                "Le format vidéo de cette caméra (%(format)s) ne peut pas être décodé sur ce "
                "serveur."
            )
            % {"format": label}
        )


def format_label(stream: av.VideoStream) -> str:
    """The stream's format in words: codec and profile, picture size, pixel format."""
    context = stream.codec_context
    parts = [(context.name or "?").upper().replace("HEVC", "H.265/HEVC").replace("H264", "H.264")]
    if context.profile:
        parts.append(str(context.profile))
    text = " ".join(parts)
    if context.width and context.height:
        text += f", {context.width}×{context.height}"
    if context.pix_fmt:
        text += f", {context.pix_fmt}"
    return text


def decoder_available(codec: str) -> bool:
    """Whether this server's FFmpeg has a decoder for ``codec``."""
    try:
        av.Codec(codec, "r")
    except (ValueError, av.error.FFmpegError):  # UnknownCodecError is a ValueError
        return False
    return True


def decode(
    container: av.container.InputContainer, stream: av.VideoStream
) -> Iterator[av.VideoFrame]:
    """The pictures of ``stream``; UndecodableFormat when this server gets none out of it.

    No decoder for the codec, a decoding error once a key frame was fed, or dozens of packets
    without a picture: the format is what fails. An error once pictures came out is the
    source's (a stream cut, a damaged segment) and is raised as it is.
    """
    label = format_label(stream)
    if not decoder_available(stream.codec_context.name):
        raise UndecodableFormat(label)
    produced = False
    packets = 0
    since_key: int | None = None
    for packet in container.demux(stream):  # an error here is the source's: raised as it is
        packets += 1
        if since_key is None and packet.is_keyframe:
            since_key = 0
        try:
            frames = packet.decode()
        except (av.error.FFmpegError, ValueError) as exc:
            if produced:
                raise
            if since_key is None:
                continue  # references missing before the first key frame: expected
            raise UndecodableFormat(label) from exc
        for frame in frames:
            produced = True
            yield frame
        if not produced:
            since_key = None if since_key is None else since_key + 1
            if (since_key or 0) > UNDECODED_AFTER_KEY or packets > UNDECODED_PACKETS:
                raise UndecodableFormat(label)
    if since_key is not None and not produced:
        raise UndecodableFormat(label)


def picture(
    frame: av.VideoFrame, label: str = "", width: int | None = None, height: int | None = None
) -> np.ndarray:
    """The frame as a BGR image (resized when asked); UndecodableFormat when its pixel format
    cannot be converted here."""
    try:
        return frame.reformat(width=width, height=height, format="bgr24").to_ndarray()
    except (ValueError, av.error.FFmpegError) as exc:
        raise UndecodableFormat(label or frame.format.name) from exc


@dataclass(frozen=True)
class Frame:
    #: Seconds: the media clock for files, the arrival time for live sources.
    at: float
    image: np.ndarray


@dataclass(frozen=True)
class Sample:
    frames: list[Frame]
    #: True when the source gives one image per request: its rate says nothing about the camera.
    polled: bool = False


def _file_frames(path: Path, deadline: float) -> Iterator[Frame]:
    if not path.is_file():
        raise SourceError(_("Fichier vidéo introuvable : %(path)s") % {"path": path})
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise SourceError(_("Fichier vidéo illisible : %(error)s") % {"error": exc}) from exc
    with container:
        if not container.streams.video:
            raise SourceError(_("Le fichier ne contient pas de vidéo."))
        stream = container.streams.video[0]
        time_base = stream.time_base
        duration = float(stream.duration * time_base) if stream.duration and time_base else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        start = time.time() % duration if duration > 0 else 0.0
        if start and time_base:
            container.seek(int(start / time_base), stream=stream, backward=True)
        label = format_label(stream)
        loop = 0.0
        while True:
            produced = False
            for frame in decode(container, stream):
                produced = True
                at = float(frame.time or 0.0)
                if loop == 0.0 and at + 1e-6 < start - 1.0 / float(stream.average_rate or 12):
                    continue  # decoded from the key frame before the starting point
                yield Frame(loop + at, picture(frame, label))
                if time.monotonic() > deadline:
                    return
            if not produced or duration <= 0:
                return
            loop += duration
            container.seek(0, stream=stream)


def _rtsp_frames(
    url: str, username: str, password: str, timeout: float, deadline: float
) -> Iterator[Frame]:
    # The login travels inside the address FFmpeg opens, and only there: no error built here
    # quotes the library's text, which repeats that address.
    try:
        container = av.open(
            with_credentials(url, username, password),
            options={"rtsp_transport": "tcp"},
            timeout=(timeout, timeout),
        )
    except (av.error.FFmpegError, OSError) as exc:
        raise open_failed(url, exc, password) from None
    with container:
        if not container.streams.video:
            raise SourceError(_("Le flux ne contient pas de vidéo."))
        stream = container.streams.video[0]
        label = format_label(stream)
        try:
            for frame in decode(container, stream):
                yield Frame(time.monotonic(), picture(frame, label))
                if time.monotonic() > deadline:
                    return
        except UndecodableFormat:
            raise
        except (av.error.FFmpegError, OSError) as exc:
            log_failure(url, exc, password)
            raise SourceError(_("Flux RTSP interrompu.")) from None


def _decode_image(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(_("La caméra a renvoyé une image illisible."))
    return image


def _mjpeg_frames(response, deadline: float) -> Iterator[Frame]:
    buffer = b""
    while time.monotonic() < deadline:
        try:
            chunk = response.read1(65536)
        except OSError as exc:
            raise SourceError(_("Flux MJPEG interrompu.")) from exc
        if not chunk:
            return
        buffer += chunk
        while True:
            start = buffer.find(b"\xff\xd8")
            end = buffer.find(b"\xff\xd9", start + 2) if start >= 0 else -1
            if start < 0 or end < 0:
                break
            yield Frame(time.monotonic(), _decode_image(buffer[start : end + 2]))
            buffer = buffer[end + 2 :]
        if len(buffer) > 8 * 1024 * 1024:
            raise SourceError(_("Flux MJPEG mal formé : aucune image complète reçue."))


def _http_frames(
    url: str, username: str, password: str, timeout: float, deadline: float, polled: list[bool]
) -> Iterator[Frame]:
    response = http_open(url, username=username, password=password, timeout=timeout)
    kind = response.headers.get_content_type()
    with response:
        if kind.startswith("multipart/"):
            yield from _mjpeg_frames(response, deadline)
            return
        if not kind.startswith("image/"):
            raise SourceError(
                _("La caméra a renvoyé « %(type)s » au lieu d'une image.") % {"type": kind}
            )
        polled.append(True)
        yield Frame(time.monotonic(), _decode_image(response.read()))
    while time.monotonic() < deadline:
        with http_open(url, username=username, password=password, timeout=timeout) as response:
            yield Frame(time.monotonic(), _decode_image(response.read()))


def _frames(
    url: str, username: str, password: str, timeout: float, deadline: float, polled: list[bool]
) -> Iterator[Frame]:
    check_allowed(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        return _file_frames(Path(unquote(urlsplit(url).path)), deadline)
    if scheme == "rtsp":
        return _rtsp_frames(url, username, password, timeout, deadline)
    if scheme in ("http", "https"):
        return _http_frames(url, username, password, timeout, deadline, polled)
    raise SourceError(_("Protocole non pris en charge : %(scheme)s") % {"scheme": scheme})


def sample(
    url: str,
    *,
    username: str = "",
    password: str = "",
    seconds: float = 2.0,
    max_frames: int = 48,
    timeout: float = 5.0,
) -> Sample:
    """The frames the source gives over ``seconds`` of its own clock, within a hard deadline."""
    deadline = time.monotonic() + timeout + seconds
    polled: list[bool] = []
    frames: list[Frame] = []
    for frame in _frames(url, username, password, timeout, deadline, polled):
        frames.append(frame)
        if len(frames) >= max_frames or frame.at - frames[0].at >= seconds:
            break
    if not frames:
        raise SourceError(_("La source n'a donné aucune image."))
    return Sample(frames, polled=bool(polled))


def grab(url: str, *, username: str = "", password: str = "", timeout: float = 5.0) -> np.ndarray:
    """One current image of the source."""
    deadline = time.monotonic() + timeout
    for frame in _frames(url, username, password, timeout, deadline, []):
        return frame.image
    raise SourceError(_("La source n'a donné aucune image."))


def apply_masks(image: np.ndarray, polygons: Sequence[Sequence[Sequence[float]]]) -> np.ndarray:
    """The image with each polygon (normalized 0-1 coordinates) filled, in place.

    Each polygon gets its own fillPoly call: one call with several polygons fills by the
    even-odd rule and would leave their overlap visible.
    """
    height, width = image.shape[:2]
    scale = np.array([width, height], dtype=np.float64)
    for points in polygons:
        pixels = np.rint(np.asarray(points, dtype=np.float64) * scale).astype(np.int32)
        pixels[:, 0] = np.clip(pixels[:, 0], 0, width - 1)
        pixels[:, 1] = np.clip(pixels[:, 1], 0, height - 1)
        cv2.fillPoly(image, [pixels], MASK_COLOUR)
    return image


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SourceError(_("Impossible de produire l'image JPEG."))
    return data.tobytes()
