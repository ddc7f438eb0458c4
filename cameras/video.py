"""Reading images from a camera's source, and burning software privacy masks into them.

Sources: ``rtsp://`` (PyAV), ``http(s)://`` serving MJPEG (multipart/x-mixed-replace) or one
image per request, and ``file://`` (a video file played in a loop at its own pace, starting where
the wall clock says, as if it had been playing since midnight). Every read is bounded in time.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import av
import cv2
import numpy as np
from django.utils.translation import gettext as _

#: Fill colour of software masks (BGR).
MASK_COLOUR = (0, 0, 0)
JPEG_QUALITY = 85


class SourceError(Exception):
    """The source could not give an image; the message says why, in words for the operator."""


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


def _with_credentials(url: str, username: str, password: str) -> str:
    if not username and not password:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{urllib.request.quote(username, safe='')}:{urllib.request.quote(password, safe='')}"
    netloc += f"@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


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
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        start = time.time() % duration if duration > 0 else 0.0
        if start:
            container.seek(int(start / stream.time_base), stream=stream, backward=True)
        loop = 0.0
        while True:
            produced = False
            for frame in container.decode(stream):
                produced = True
                at = float(frame.time or 0.0)
                if loop == 0.0 and at + 1e-6 < start - 1.0 / float(stream.average_rate or 12):
                    continue  # decoded from the key frame before the starting point
                yield Frame(loop + at, frame.to_ndarray(format="bgr24"))
                if time.monotonic() > deadline:
                    return
            if not produced or duration <= 0:
                return
            loop += duration
            container.seek(0, stream=stream)


def _rtsp_frames(url: str, timeout: float, deadline: float) -> Iterator[Frame]:
    try:
        container = av.open(url, options={"rtsp_transport": "tcp"}, timeout=(timeout, timeout))
    except (av.error.FFmpegError, OSError) as exc:
        raise SourceError(_("Flux RTSP injoignable : %(error)s") % {"error": exc}) from exc
    with container:
        if not container.streams.video:
            raise SourceError(_("Le flux ne contient pas de vidéo."))
        try:
            for frame in container.decode(container.streams.video[0]):
                yield Frame(time.monotonic(), frame.to_ndarray(format="bgr24"))
                if time.monotonic() > deadline:
                    return
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(_("Flux RTSP interrompu : %(error)s") % {"error": exc}) from exc


def _decode_image(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(_("La caméra a renvoyé une image illisible."))
    return image


def _http_open(url: str, username: str, password: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "CSU"})  # noqa: S310
    if username or password:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as exc:
        raise SourceError(
            _("La caméra a répondu par une erreur HTTP %(code)s.") % {"code": exc.code}
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(_("Caméra injoignable : %(error)s") % {"error": reason}) from exc


def _mjpeg_frames(response, deadline: float) -> Iterator[Frame]:
    buffer = b""
    while time.monotonic() < deadline:
        try:
            chunk = response.read1(65536)
        except OSError as exc:
            raise SourceError(_("Flux MJPEG interrompu : %(error)s") % {"error": exc}) from exc
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
    response = _http_open(url, username, password, timeout)
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
        with _http_open(url, username, password, timeout) as response:
            yield Frame(time.monotonic(), _decode_image(response.read()))


def _frames(
    url: str, username: str, password: str, timeout: float, deadline: float, polled: list[bool]
) -> Iterator[Frame]:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        return _file_frames(Path(unquote(urlsplit(url).path)), deadline)
    if scheme == "rtsp":
        return _rtsp_frames(_with_credentials(url, username, password), timeout, deadline)
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
