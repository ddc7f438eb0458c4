"""Small real media for the recording tests: H.264 clips with moving content, and audio."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def moving_frame(index: int, width: int, height: int) -> np.ndarray:
    """An RGB picture that changes every frame: a gradient, a moving bar and a frame counter."""
    x = np.linspace(0, 255, width, dtype=np.uint8)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:, :, 0] = x[None, :]
    image[:, :, 1] = (index * 7) % 256
    image[:, :, 2] = np.linspace(255, 0, height, dtype=np.uint8)[:, None]
    bar = (index * 9) % max(1, width - 20)
    image[:, bar : bar + 20, :] = 255
    # The frame number in binary, burnt in as black/white squares along the top edge.
    for bit in range(12):
        value = 255 if index >> bit & 1 else 0
        image[0:8, bit * 8 : bit * 8 + 8, :] = value
    return image


def burnt_in_index(image: np.ndarray) -> int:
    """Read back the frame number written by :func:`moving_frame` (robust to compression)."""
    return sum(1 << bit for bit in range(12) if image[2:6, bit * 8 + 2 : bit * 8 + 6].mean() > 128)


def h264_clip(
    path: Path,
    *,
    seconds: float = 4,
    width: int = 320,
    height: int = 240,
    fps: int = 12,
    gop: int = 12,
    audio: bool = True,
    bit_rate: int | None = None,
    preset: str = "ultrafast",
) -> Path:
    """Write an MP4 with an H.264 track (key frame every ``gop`` frames) and an AAC track."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"preset": preset})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = gop
        video.codec_context.options = {
            **video.codec_context.options,
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
        }
        if bit_rate:
            video.bit_rate = bit_rate
        sound = container.add_stream("aac", rate=16000) if audio else None
        frames = round(seconds * fps)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(moving_frame(index, width, height), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            samples = round(seconds * 16000)
            t = np.arange(samples) / 16000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            for start in range(0, samples, 1024):
                piece = np.ascontiguousarray(tone[:, start : start + 1024])
                chunk = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, start
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return path


def probe(data: bytes) -> dict:
    """Decode an in-memory MP4: stream kinds, frame count, key-frame flags, first/last index."""
    with av.open(io.BytesIO(data)) as container:
        kinds = [stream.type for stream in container.streams]
        frames = list(container.decode(video=0))
    images = [frame.to_ndarray(format="rgb24") for frame in frames]
    return {
        "streams": kinds,
        "frames": len(frames),
        "first_key": bool(frames and frames[0].key_frame),
        "indices": [burnt_in_index(image) for image in images],
        "size": (frames[0].width, frames[0].height) if frames else None,
    }
