"""Programs outside the virtualenv that some tests need, and what to do when one is missing.

``bin/system-packages`` installs them on Debian (``bin/test`` runs it first). When one is still
missing, its tests are skipped with a message naming the Debian packages to install — or fail,
when CSU_REQUIRE_TEST_PACKAGES is true, as ``.ci/run`` sets it: CI never skips them silently.
"""

from __future__ import annotations

import functools
import os
import subprocess
from typing import NoReturn

import pytest

from csu.lib.env import env_bool

REQUIRE_VARIABLE = "CSU_REQUIRE_TEST_PACKAGES"

# The browser tests drive Debian's Chromium (playwright's own download is not used).
CHROMIUM = "/usr/bin/chromium"
# GStreamer's Python bindings are Debian's, for Debian's interpreter, not the virtualenv's.
SYSTEM_PYTHON = "/usr/bin/python3"

# tests/recordings/rtsp_server.py: the GStreamer elements its pipelines use, by package.
RTSP_ELEMENTS = {
    "qtdemux": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "rtpmp4gpay": "gstreamer1.0-plugins-good",
    "aacparse": "gstreamer1.0-plugins-good",
    "h264parse": "gstreamer1.0-plugins-bad",
    "x264enc": "gstreamer1.0-plugins-ugly",
    "x265enc": "gstreamer1.0-plugins-bad",
    "h265parse": "gstreamer1.0-plugins-bad",
    "rtph265pay": "gstreamer1.0-plugins-good",
    "avenc_aac": "gstreamer1.0-libav",
    "videotestsrc": "gstreamer1.0-plugins-base",
    "audiotestsrc": "gstreamer1.0-plugins-base",
    "audioconvert": "gstreamer1.0-plugins-base",
}
RTSP_BINDINGS = ["python3-gi", "python3-gst-1.0", "gir1.2-gst-rtsp-server-1.0", "gstreamer1.0-rtsp"]

# Run by SYSTEM_PYTHON: prints the elements that GStreamer cannot find, one a line; exits 3 when
# the bindings themselves are missing.
_PROBE = """
import sys
try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import Gst, GstRtspServer
except (ImportError, ValueError) as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
Gst.init(None)
for name in sys.argv[1:]:
    if Gst.ElementFactory.find(name) is None:
        print(name)
"""


def missing(what: str, packages: list[str]) -> NoReturn:
    """Skip the running test (fail it under CSU_REQUIRE_TEST_PACKAGES) naming the packages."""
    names = " ".join(dict.fromkeys(packages))
    message = (
        f"{what} missing: sudo apt-get install --no-install-recommends {names}"
        " (or run bin/system-packages)"
    )
    if env_bool(REQUIRE_VARIABLE, False):
        pytest.fail(f"{message} [{REQUIRE_VARIABLE} is set: CI installs these]", pytrace=False)
    pytest.skip(message)


def require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"Chromium ({CHROMIUM}) for the browser tests", ["chromium"])


@functools.cache
def _rtsp_missing_packages() -> tuple[str, ...]:
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", _PROBE, *RTSP_ELEMENTS],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return ("python3", *RTSP_BINDINGS)
    if probe.returncode == 3:
        return tuple(RTSP_BINDINGS)
    if probe.returncode != 0:
        raise RuntimeError(f"GStreamer probe failed: {probe.stderr.strip()}")
    return tuple(dict.fromkeys(RTSP_ELEMENTS[name] for name in probe.stdout.split()))


def require_rtsp_server() -> None:
    """GStreamer's RTSP server and the plugins of tests/recordings/rtsp_server.py."""
    packages = _rtsp_missing_packages()
    if packages:
        missing("GStreamer's RTSP server for the RTSP camera tests", list(packages))
