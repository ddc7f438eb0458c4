"""H.264 for the browsers: one encoder per live pipeline, tuned for latency, not for storage.

Baseline profile, no B-frames, ``tune=zerolatency`` (no look-ahead: a frame leaves the encoder
as soon as it is encoded) and Annex B output with the parameter sets repeated before every key
frame, so that a viewer who joins, or who was dropped behind, restarts at the next key frame.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction

import av
import numpy as np

#: Seconds between key frames when nobody asks for one (a viewer joining asks for one).
KEY_INTERVAL_SECONDS = 2


def codec_string(annexb: bytes) -> str:
    """The RFC 6381 codec name (``avc1.PPCCLL``) read from the sequence parameter set."""
    index = 0
    while True:
        index = annexb.find(b"\x00\x00\x01", index)
        if index < 0 or index + 6 > len(annexb):
            return "avc1.42E01E"
        nal = annexb[index + 3]
        if nal & 0x1F == 7:  # sequence parameter set
            profile, constraints, level = annexb[index + 4 : index + 7]
            return f"avc1.{profile:02X}{constraints:02X}{level:02X}"
        index += 3


class H264Encoder:
    def __init__(self, width: int, height: int, fps: int, *, crf: int = 28) -> None:
        self.width, self.height, self.fps = width, height, fps
        context = av.CodecContext.create("libx264", "w")
        context.width = width
        context.height = height
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, 1000)
        context.framerate = Fraction(fps, 1)
        context.gop_size = fps * KEY_INTERVAL_SECONDS
        context.max_b_frames = 0
        context.thread_count = 1
        context.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "crf": str(crf),
            # A key frame that a viewer asked for is an IDR: decoding can start there.
            "forced-idr": "1",
        }
        context.open()
        self.context = context
        self.codec = ""

    def encode(self, image: np.ndarray, *, pts_ms: int, key: bool) -> list[tuple[bytes, bool]]:
        """The access units (Annex B bytes, is_key) of one BGR image at the encoder's size."""
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = pts_ms
        if key:
            frame.pict_type = av.video.frame.PictureType.I
        out = []
        for packet in self.context.encode(frame):
            data = bytes(packet)
            if packet.is_keyframe and not self.codec:
                self.codec = codec_string(data)
            out.append((data, bool(packet.is_keyframe)))
        return out

    def close(self) -> None:
        with contextlib.suppress(av.error.FFmpegError):
            self.context.encode(None)
