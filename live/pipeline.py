"""Live pipelines: one per watched camera in this process, shared by all its viewers.

A pipeline is a thread: it opens the camera's live source (its sub-stream, or the main stream
scaled down), decodes, scales to the tile size, burns the camera's privacy masks into every
frame, encodes H.264 once and hands the same bytes to every viewer. It starts with the first
viewer and stops ``CSU_LIVE_LINGER_SECONDS`` after the last one left. A viewer that reads too
slowly gets frames dropped (its queue is bounded) and resumes at the next key frame: the server
never buffers without bound for anyone.

What leaves a pipeline has always gone through ``apply_masks``: no unmasked pixel reaches a
browser, and a pipeline that cannot read the camera's masks sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
from django.conf import settings
from django.db import connection

from cameras import recording_state, video
from cameras.models import Camera, PrivacyMask
from cameras.services import software_polygons, stream_login
from live.encoder import H264Encoder

logger = logging.getLogger(__name__)

#: Binary message: flags (bit 0: key frame), capture time (ms since the epoch, float64), H.264.
HEADER = struct.Struct(">Bd")


class State:
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    NO_SIGNAL = "no_signal"


@dataclass(frozen=True)
class Source:
    url: str
    username: str
    password: str
    polygons: list[list[list[float]]]


def camera_polygons(camera: Camera) -> list[list[list[float]]]:
    """The software polygons of the camera's current masks and of its last validated version.

    While a new version waits for validation both are burnt in: live never shows less than
    the validated masks hide, nor less than the latest drawing does.
    """
    polygons = list(software_polygons(camera))
    validated = (
        PrivacyMask.objects.filter(camera=camera, validated_at__isnull=False)
        .order_by("-version")
        .first()
    )
    if validated is not None:
        polygons += [p for p in validated.software_polygons if p not in polygons]
    return polygons


def load_source(camera_id: int) -> Source:
    """What the pipeline reads from the register: the live address, its login, the masks."""
    try:
        camera = Camera.objects.get(pk=camera_id)
        url = camera.live_stream_url or camera.stream_url
        username, password = stream_login(camera)
        return Source(url, username, password, camera_polygons(camera))
    finally:
        # A pipeline thread lives as long as people watch: it keeps no idle connection.
        connection.close()


def load_recording_alerts(camera_ids: list[int]) -> dict[int, str]:
    """Each camera's recording alert ("" while it records), by the rule the project wires in."""
    try:
        return recording_state.recording_alerts(camera_ids)
    finally:
        connection.close()


def recording_message(alert: str) -> str:
    """The control message that sets or clears a tile's recording alert."""
    return json.dumps({"type": "recording", "alert": alert})


def tile_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The source's size fitted in the tile box (never enlarged), even in both directions."""
    scale = min(box[0] / width, box[1] / height, 1.0)

    def even(value: float, limit: int) -> int:
        return max(2, min(round(value / 2) * 2, limit // 2 * 2))

    return even(width * scale, box[0]), even(height * scale, box[1])


def render(image: np.ndarray, size: tuple[int, int], polygons) -> np.ndarray:
    """The tile picture: scaled, then every polygon filled (after scaling: no edge blends in)."""
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    elif not image.flags.writeable:
        image = image.copy()
    return video.apply_masks(image, polygons)


class Viewer:
    """One browser's side of a pipeline: a bounded queue read by its WebSocket.

    What a viewer holds is bounded whatever it does: at most ``maxsize`` messages, the video ones
    each one encoded picture. A viewer whose queue is full loses the video it had queued (counted
    in ``dropped``), waits for the next key frame and asks the pipeline for one; state and
    configuration messages are never lost, only superseded by a later one of the same type.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        maxsize: int | None = None,
        *,
        session_id: int | None = None,
    ) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[bytes | str] = asyncio.Queue(
            maxsize or settings.CSU_LIVE_VIEWER_QUEUE
        )
        #: The viewing session this viewer serves (the WebSocket's), when there is one.
        self.session_id = session_id
        self.waiting_key = True
        #: Video messages this viewer never got: it read too slowly, or joined between key frames.
        self.dropped = 0
        self.wants_key: Callable[[], None] = lambda: None

    # Called on the viewer's event loop only.
    def offer(self, message: bytes | str) -> None:
        if isinstance(message, str):  # state and configuration: never lost
            if self.queue.full():
                self._drain()
            self.queue.put_nowait(message)
            return
        key = bool(message[0] & 1)
        if self.waiting_key and not key:
            self.dropped += 1
            return
        if self.queue.full():
            self._drain()
            self.dropped += 1
            self.wants_key()
            return
        self.waiting_key = False
        self.queue.put_nowait(message)

    def _drain(self) -> None:
        """Forgets the queued video: the next picture this viewer gets is a key frame.

        Of the queued text messages only the last of each type is kept (a newer state or
        configuration replaces an older one), so the queue always has room afterwards.
        """
        latest: dict[str, str] = {}
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if isinstance(item, str):
                kind = json.loads(item).get("type", "")
                latest.pop(kind, None)
                latest[kind] = item
            else:
                self.dropped += 1
        kept = list(latest.values())
        room = self.queue.maxsize - 1  # one place for the message that made the queue overflow
        for item in kept[len(kept) - room :] if room > 0 else []:
            self.queue.put_nowait(item)
        self.waiting_key = True

    def send(self, message: bytes | str) -> None:
        """From any thread: hand a message to this viewer's loop."""
        with contextlib.suppress(RuntimeError):  # the viewer's loop has closed
            self.loop.call_soon_threadsafe(self.offer, message)


@dataclass
class Stats:
    frames_in: int = 0
    frames_out: int = 0
    #: Seconds from a decoded frame's arrival to its bytes handed to the viewers.
    latencies: deque = field(default_factory=lambda: deque(maxlen=2000))


class Pipeline(threading.Thread):
    def __init__(
        self,
        hub: Hub,
        camera_id: int,
        *,
        loader: Callable[[int], Source] = load_source,
    ) -> None:
        super().__init__(name=f"live-{camera_id}", daemon=True)
        self.hub = hub
        self.camera_id = camera_id
        self.loader = loader
        self.viewers: set[Viewer] = set()
        self.idle_since: float | None = None
        self.stopping = threading.Event()
        self.state = State.CONNECTING
        self.config: str | None = None
        self.key_requested = True
        self._last_key_request = 0.0
        self.stats = Stats()
        self.encoder: H264Encoder | None = None

    # --- viewers (called under the hub's lock) ---
    def add(self, viewer: Viewer) -> None:
        viewer.wants_key = self.request_key
        self.viewers.add(viewer)
        self.idle_since = None
        viewer.send(json.dumps({"type": "state", "state": self.state}))
        alert = self.hub.alerts.get(self.camera_id)
        if alert is not None:
            viewer.send(recording_message(alert))
        if self.config:
            viewer.send(self.config)
        self.request_key(force=True)

    def remove(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            self.idle_since = time.monotonic()

    def request_key(self, force: bool = False) -> None:
        # A reader that keeps falling behind must not turn everyone's stream into key frames.
        now = time.monotonic()
        if force or now - self._last_key_request >= 1.0:
            self._last_key_request = now
            self.key_requested = True

    def _broadcast(self, message: bytes | str) -> None:
        with self.hub.lock:
            viewers = list(self.viewers)
        for viewer in viewers:
            viewer.send(message)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._broadcast(json.dumps({"type": "state", "state": state}))

    def _should_stop(self) -> bool:
        if self.stopping.is_set():
            return True
        return self.hub.retire_if_idle(self)

    # --- the thread ---
    def run(self) -> None:
        failures = 0
        try:
            while not self._should_stop():
                try:
                    source = self.loader(self.camera_id)
                    self._stream(source)
                    failures = 0
                except video.SourceError as exc:
                    logger.warning("live %s: source unavailable (%s)", self.camera_id, type(exc))
                    failures += 1
                except Camera.DoesNotExist:
                    self._set_state(State.NO_SIGNAL)
                    return
                except Exception:
                    # Never the message: it may carry the source's address and login.
                    logger.exception("live %s: pipeline error", self.camera_id)
                    failures += 1
                self._set_state(State.NO_SIGNAL if failures > 2 else State.RECONNECTING)
                self._wait(min(0.5 * 2**failures, settings.CSU_LIVE_RETRY_MAX_SECONDS))
        finally:
            if self.encoder:
                self.encoder.close()
            self.hub.forget(self)

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._should_stop():
            self.stopping.wait(0.1)

    def _frames(self, source: Source) -> Iterator[video.Frame]:
        """Decoded frames at no more than the tile rate, a file source played at its pace."""
        fps = settings.CSU_LIVE_FPS
        paced = urlsplit(source.url).scheme.lower() == "file"
        first: tuple[float, float] | None = None
        due = 0.0
        frames = video._frames(
            source.url,
            source.username,
            source.password,
            settings.CAMERA_CONNECT_TIMEOUT,
            float("inf"),
            [],
        )
        for frame in frames:
            if first is None:
                first = (frame.at, time.monotonic())
                due = frame.at
            if paced:
                ahead = (frame.at - first[0]) - (time.monotonic() - first[1])
                if ahead > 0:
                    self.stopping.wait(min(ahead, 1.0))
            if frame.at + 1e-3 < due:
                continue
            due = max(due + 1.0 / fps, frame.at)
            yield frame

    def _stream(self, source: Source) -> None:
        box = (settings.CSU_LIVE_TILE_WIDTH, settings.CSU_LIVE_TILE_HEIGHT)
        fps = settings.CSU_LIVE_FPS
        polygons = source.polygons
        masks_loaded = time.monotonic()
        started = time.monotonic()
        self.key_requested = True  # a new connection to the source: viewers restart cleanly
        for frame in self._frames(source):
            arrived = time.time()
            if self._should_stop():
                return
            self.stats.frames_in += 1
            if time.monotonic() - masks_loaded > settings.CSU_LIVE_MASK_REFRESH_SECONDS:
                # A mask validated while people watch is burnt in within seconds.
                polygons = self.loader(self.camera_id).polygons
                masks_loaded = time.monotonic()
            height, width = frame.image.shape[:2]
            size = tile_size(width, height, box)
            if self.encoder is None or (self.encoder.width, self.encoder.height) != size:
                if self.encoder:
                    self.encoder.close()
                self.encoder = H264Encoder(size[0], size[1], fps)
                self.config = None
                self.key_requested = True
            picture = render(frame.image, size, polygons)
            key, self.key_requested = self.key_requested, False
            pts = int((time.monotonic() - started) * 1000)
            for data, is_key in self.encoder.encode(picture, pts_ms=pts, key=key):
                if self.config is None and self.encoder.codec:
                    self.config = json.dumps(
                        {
                            "type": "config",
                            "codec": self.encoder.codec,
                            "width": size[0],
                            "height": size[1],
                        }
                    )
                    self._broadcast(self.config)
                self._broadcast(HEADER.pack(int(is_key), arrived * 1000) + data)
                self.stats.frames_out += 1
                self.stats.latencies.append(time.time() - arrived)
            self._set_state(State.LIVE)


class Hub:
    """The pipelines of this process, by camera: the fan-out point.

    With ``alerts``, one thread reads the recording alert of every watched camera each
    ``CSU_LIVE_RECHECK_SECONDS`` (one query for all of them, whatever the number of viewers)
    and tells that camera's viewers when it appears or clears. It runs while pipelines do.
    """

    def __init__(
        self,
        loader: Callable[[int], Source] = load_source,
        alerts: Callable[[list[int]], dict[int, str]] | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.loader = loader
        self.pipelines: dict[int, Pipeline] = {}
        self.alerts_source = alerts
        #: The last recording alert read for each watched camera ("" = recording).
        self.alerts: dict[int, str] = {}
        self._watcher: threading.Thread | None = None
        self._watch_stop = threading.Event()

    def join(self, camera_id: int, viewer: Viewer) -> Pipeline:
        with self.lock:
            pipeline = self.pipelines.get(camera_id)
            if pipeline is None:
                pipeline = Pipeline(self, camera_id, loader=self.loader)
                self.pipelines[camera_id] = pipeline
                pipeline.start()
            pipeline.add(viewer)
            if self.alerts_source is not None and self._watcher is None:
                self._watch_stop.clear()
                self._watcher = threading.Thread(
                    target=self._watch_alerts, name="live-recording-alerts", daemon=True
                )
                self._watcher.start()
            return pipeline

    def _watch_alerts(self) -> None:
        assert self.alerts_source is not None
        while not self._watch_stop.is_set():
            with self.lock:
                watched = sorted(self.pipelines)
                if not watched:
                    self._watcher = None
                    self.alerts.clear()
                    return
            try:
                self.publish_alerts(self.alerts_source(watched))
            except Exception:
                logger.exception("live: the recording alerts could not be read")
            self._watch_stop.wait(settings.CSU_LIVE_RECHECK_SECONDS)
        with self.lock:
            self._watcher = None

    def publish_alerts(self, found: dict[int, str]) -> None:
        """Tells the viewers of each watched camera whose recording alert changed."""
        with self.lock:
            for camera_id, pipeline in self.pipelines.items():
                alert = found.get(camera_id, "")
                if self.alerts.get(camera_id) == alert:
                    continue
                self.alerts[camera_id] = alert
                message = recording_message(alert)
                for viewer in pipeline.viewers:
                    viewer.send(message)
            for camera_id in set(self.alerts) - set(self.pipelines):
                del self.alerts[camera_id]

    def leave(self, camera_id: int, viewer: Viewer) -> None:
        with self.lock:
            pipeline = self.pipelines.get(camera_id)
            if pipeline is not None:
                pipeline.remove(viewer)

    def retire_if_idle(self, pipeline: Pipeline) -> bool:
        """True (and the pipeline leaves the hub) once nobody watched it for the linger time."""
        with self.lock:
            idle = pipeline.idle_since
            if pipeline.viewers or idle is None:
                return False
            if time.monotonic() - idle < settings.CSU_LIVE_LINGER_SECONDS:
                return False
            pipeline.stopping.set()
            if self.pipelines.get(pipeline.camera_id) is pipeline:
                del self.pipelines[pipeline.camera_id]
            return True

    def forget(self, pipeline: Pipeline) -> None:
        with self.lock:
            if self.pipelines.get(pipeline.camera_id) is pipeline:
                del self.pipelines[pipeline.camera_id]
            for viewer in pipeline.viewers:
                viewer.send(json.dumps({"type": "state", "state": State.NO_SIGNAL}))

    def stop_all(self) -> None:
        self._watch_stop.set()
        with self.lock:
            pipelines = list(self.pipelines.values())
            watcher = self._watcher
        if watcher is not None:
            watcher.join(timeout=5)
        for pipeline in pipelines:
            pipeline.stopping.set()
        for pipeline in pipelines:
            pipeline.join(timeout=5)

    def running(self) -> dict[int, Any]:
        with self.lock:
            return {cid: len(p.viewers) for cid, p in self.pipelines.items()}


#: This process's pipelines.
hub = Hub(alerts=load_recording_alerts)
