"""The live pipeline: fan-out, masks burnt in, slow viewers, odd and changing sources.

These drive the pipeline with real video (clips played as file:// cameras, GStreamer's RTSP
server) and decode what a viewer receives with FFmpeg, as a browser would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import cv2
import numpy as np
import pytest

from live.encoder import H264Encoder
from live.pipeline import HEADER, Hub, Source, Viewer, render, tile_size
from tests.live.conftest import MASK
from tests.live.helpers import bright_clip

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fast_live")]

HALF_MASK = [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]]


def hub_for(url: str, polygons=HALF_MASK) -> Hub:
    return Hub(loader=lambda camera_id: Source(url, "", "", polygons))


async def receive(viewer: Viewer, want, timeout: float = 15.0) -> list:
    """Messages of one viewer until ``want(messages)`` holds."""
    got: list = []
    deadline = time.monotonic() + timeout
    while not want(got):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {len(got)} messages: {got[:3]!r:.300}")
        item = await asyncio.wait_for(viewer.queue.get(), left)
        got.append(json.loads(item) if isinstance(item, str) else item)
    return got


def video_of(messages) -> list[bytes]:
    return [m for m in messages if isinstance(m, bytes)]


def decode(messages) -> list[np.ndarray]:
    """What a browser would show: the H.264 of the binary messages, decoded."""
    codec = av.CodecContext.create("h264", "r")
    pictures = []
    for message in video_of(messages):
        for frame in codec.decode(av.Packet(message[HEADER.size :])):
            pictures.append(frame.to_ndarray(format="bgr24"))
    return pictures


def frames(n):
    return lambda got: len(video_of(got)) >= n


def test_one_pipeline_serves_every_viewer_and_stops_after_the_last(tmp_path):
    clip = bright_clip(tmp_path / "c.mp4", size=(320, 180))
    hub = hub_for(clip.as_uri())

    async def scenario():
        loop = asyncio.get_running_loop()
        viewers = [Viewer(loop) for _ in range(5)]
        for viewer in viewers:
            hub.join(7, viewer)
        assert len(hub.pipelines) == 1
        pipeline = hub.pipelines[7]
        received = await asyncio.gather(*(receive(v, frames(15)) for v in viewers))
        # Every viewer got the same bytes from the one encoder, starting at a key frame.
        firsts = [video_of(r)[0] for r in received]
        assert all(first[0] & 1 for first in firsts)
        assert len(set.intersection(*(set(video_of(r)) for r in received))) >= 10
        for viewer in viewers:
            hub.leave(7, viewer)
        return pipeline

    pipeline = asyncio.run(scenario())
    pipeline.join(10)
    assert not pipeline.is_alive() and not hub.pipelines


def test_masked_area_is_filled_in_every_picture_that_leaves_the_server(tmp_path):
    clip = bright_clip(tmp_path / "c.mp4", size=(1366, 768))
    hub = hub_for(clip.as_uri())

    async def scenario():
        viewer = Viewer(asyncio.get_running_loop())
        hub.join(1, viewer)
        got = await receive(viewer, frames(12))
        hub.leave(1, viewer)
        return got

    got = asyncio.run(scenario())
    config = next(m for m in got if isinstance(m, dict) and m["type"] == "config")
    assert (config["width"], config["height"]) == (640, 360)
    assert config["codec"].startswith("avc1.42")  # H.264 Baseline
    pictures = decode(got)
    assert len(pictures) >= 10
    for picture in pictures:
        assert picture.shape[:2] == (360, 640)
        assert picture[:, :318].max() < 40, "an unmasked pixel left the server"
        assert picture[:, 330:].mean() > 150
    # The unmasked side moves.
    assert np.abs(pictures[0][:, 330:].astype(int) - pictures[-1][:, 330:]).max() > 100
    hub.stop_all()


@pytest.mark.parametrize(
    ("size", "tile"),
    [((2688, 1520), (636, 360)), ((1366, 768), (640, 360)), ((320, 240), (320, 240))],
)
def test_odd_sizes_fit_the_tile_without_enlarging(size, tile):
    assert tile_size(*size, (640, 360)) == tile
    image = np.full((size[1], size[0], 3), 200, np.uint8)
    picture = render(image, tile, HALF_MASK)
    encoder = H264Encoder(*tile, 10)
    packets = encoder.encode(picture, pts_ms=0, key=True)
    codec = av.CodecContext.create("h264", "r")
    [decoded] = [f for data, _key in packets for f in codec.decode(av.Packet(data))]
    assert (decoded.width, decoded.height) == tile


def test_h265_camera_is_transcoded_to_h264(tmp_path):
    clip = bright_clip(tmp_path / "hevc.mp4", size=(640, 360), codec="libx265")
    with av.open(str(clip)) as container:
        assert container.streams.video[0].codec_context.name == "hevc"
    hub = hub_for(clip.as_uri())

    async def scenario():
        viewer = Viewer(asyncio.get_running_loop())
        hub.join(2, viewer)
        got = await receive(viewer, frames(5))
        hub.leave(2, viewer)
        return got

    got = asyncio.run(scenario())
    assert any(isinstance(m, dict) and m.get("codec", "").startswith("avc1.") for m in got)
    assert decode(got)
    hub.stop_all()


def test_slow_viewer_gets_frames_dropped_never_buffered_without_bound(tmp_path):
    clip = bright_clip(tmp_path / "c.mp4", size=(320, 180))
    hub = hub_for(clip.as_uri())

    async def scenario():
        loop = asyncio.get_running_loop()
        slow, fast = Viewer(loop, maxsize=4), Viewer(loop)
        hub.join(3, slow)
        hub.join(3, fast)
        got = await receive(fast, frames(30), timeout=20)  # ~3 s at 10 fps
        assert slow.queue.qsize() <= 4
        assert slow.dropped > 0
        # When it reads again, its picture restarts at a key frame: decodable, not garbage.
        while not slow.queue.empty():
            slow.queue.get_nowait()
        later = await receive(slow, frames(1), timeout=10)
        hub.leave(3, slow)
        hub.leave(3, fast)
        return got, later

    got, later = asyncio.run(scenario())
    assert len(video_of(got)) >= 30
    assert video_of(later)[0][0] & 1
    assert decode(later)
    hub.stop_all()


def test_a_camera_that_drops_is_reported_and_comes_back_by_itself(clock_camera):
    hub = hub_for(clock_camera.url, [MASK])

    async def scenario():
        viewer = Viewer(asyncio.get_running_loop())
        hub.join(4, viewer)
        await receive(viewer, frames(3))
        clock_camera.stop()
        states = await receive(
            viewer,
            lambda got: any(
                isinstance(m, dict) and m.get("state") in ("reconnecting", "no_signal") for m in got
            ),
            timeout=15,
        )
        clock_camera.start()
        back = await receive(
            viewer,
            lambda got: (
                any(isinstance(m, dict) and m.get("state") == "live" for m in got)
                and len(video_of(got)) >= 3
            ),
            timeout=30,
        )
        hub.leave(4, viewer)
        return states, back

    _states, back = asyncio.run(scenario())
    assert decode(back)
    hub.stop_all()


def test_a_hundred_viewers_of_one_camera_share_one_pipeline(tmp_path):
    clip = bright_clip(tmp_path / "c.mp4", size=(320, 180))
    hub = hub_for(clip.as_uri())

    async def scenario():
        loop = asyncio.get_running_loop()
        viewers = [Viewer(loop) for _ in range(100)]
        for viewer in viewers:
            hub.join(5, viewer)
        assert len(hub.pipelines) == 1 and len(hub.pipelines[5].viewers) == 100
        received = await asyncio.gather(*(receive(v, frames(10)) for v in viewers))
        for viewer in viewers:
            hub.leave(5, viewer)
        return received

    received = asyncio.run(scenario())
    assert all(decode(r) for r in received[::10])
    hub.stop_all()


class _ResizingMjpeg(BaseHTTPRequestHandler):
    """An MJPEG camera that sends 640x360 images for 1.5 s, then 800x600 (16:9, then 4:3)."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        started = time.monotonic()
        try:
            for index in range(200):
                size = (640, 360) if time.monotonic() - started < 1.5 else (800, 600)
                image = np.full((size[1], size[0], 3), 230, np.uint8)
                image[:, (index * 20) % size[0] :][:, :40] = 20
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_a_stream_that_changes_resolution_midway_gets_a_new_configuration():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ResizingMjpeg)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hub = hub_for(f"http://127.0.0.1:{server.server_address[1]}/video.mjpg")

    def configs(got):
        return [(m["width"], m["height"]) for m in got if isinstance(m, dict) and "width" in m]

    async def scenario():
        viewer = Viewer(asyncio.get_running_loop())
        hub.join(6, viewer)
        got = await receive(viewer, lambda got: len(configs(got)) >= 2 and frames(30)(got))
        hub.leave(6, viewer)
        return got

    try:
        got = asyncio.run(scenario())
    finally:
        hub.stop_all()
        server.shutdown()
    assert configs(got)[:2] == [(640, 360), (480, 360)]
    # After the change, the pictures decode at the new size, masked like before.
    after = got[[i for i, m in enumerate(got) if isinstance(m, dict) and "width" in m][1] :]
    pictures = decode(after)
    assert pictures and all(p.shape[:2] == (360, 480) for p in pictures)
    assert all(p[:, : 480 // 2 - 2].max() < 40 for p in pictures)
