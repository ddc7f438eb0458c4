"""A viewer's queue stays bounded whatever arrives: video, states, configurations."""

from __future__ import annotations

import asyncio
import json

from live.pipeline import HEADER, Viewer


def picture(key: bool, n: int) -> bytes:
    return HEADER.pack(int(key), float(n)) + bytes([n % 256]) * 100


def state(name: str) -> str:
    return json.dumps({"type": "state", "state": name})


def config(width: int) -> str:
    return json.dumps({"type": "config", "codec": "avc1.42C01E", "width": width, "height": 360})


def contents(viewer: Viewer) -> list:
    items = []
    while not viewer.queue.empty():
        item = viewer.queue.get_nowait()
        items.append(json.loads(item) if isinstance(item, str) else HEADER.unpack_from(item))
    return items


def with_viewer(scenario, maxsize: int = 4):
    async def run():
        viewer = Viewer(asyncio.get_running_loop(), maxsize=maxsize, session_id=12)
        return viewer, scenario(viewer)

    return asyncio.run(run())


def test_a_full_queue_drops_the_video_and_restarts_at_a_key_frame():
    def scenario(viewer):
        asked = []
        viewer.wants_key = lambda: asked.append(True)
        viewer.offer(picture(False, 0))  # before any key frame: not queued
        for n in range(1, 5):
            viewer.offer(picture(n == 1, n))
        viewer.offer(picture(False, 5))  # full: everything queued goes
        viewer.offer(picture(False, 6))  # waiting for a key frame
        viewer.offer(picture(True, 7))
        return asked

    viewer, asked = with_viewer(scenario)
    assert asked == [True]
    assert viewer.dropped == 1 + 4 + 1 + 1
    assert contents(viewer) == [(1, 7.0)]
    assert viewer.session_id == 12


def test_states_and_configurations_are_superseded_never_piled_up():
    def scenario(viewer):
        viewer.offer(config(640))
        viewer.offer(picture(True, 1))
        for name in ("reconnecting", "no_signal", "reconnecting", "live"):
            viewer.offer(state(name))
        viewer.offer(config(480))  # the queue was full: the older messages are superseded
        for name in ("reconnecting", "live", "no_signal"):
            viewer.offer(state(name))
        return None

    viewer, _ = with_viewer(scenario)
    items = contents(viewer)
    assert len(items) <= 4
    assert items[-1] == {"type": "state", "state": "no_signal"}
    configs = [i for i in items if isinstance(i, dict) and i["type"] == "config"]
    assert [c["width"] for c in configs] == [480]
    assert viewer.waiting_key  # the picture was lost with the overflow: next one is a key frame


def test_a_queue_of_one_takes_the_latest_message():
    def scenario(viewer):
        viewer.offer(state("connecting"))
        viewer.offer(state("live"))
        viewer.offer(config(640))
        return None

    viewer, _ = with_viewer(scenario, maxsize=1)
    assert contents(viewer) == [json.loads(config(640))]
