"""Driving the polygon editor (static/js/mask-editor.js) in Chromium from a browser test."""

from __future__ import annotations

import time
from typing import Any

IMAGE_READY = (
    "document.getElementById('mask-image').complete"
    " && document.getElementById('mask-image').naturalWidth > 0"
)


def wait_until(page: Any, expression: str, seconds: float = 15) -> None:
    """Polled from here: a string predicate polled inside the page needs eval, which the page's
    Content-Security-Policy rightly forbids."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate(expression), expression


class Stage:
    """The picture under the polygons, addressed in 0-1 coordinates. Each gesture brings the
    whole picture into view first (a button clicked meanwhile may have scrolled the page)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def at(self, x: float, y: float) -> tuple[float, float]:
        self.page.evaluate("document.getElementById('mask-stage').scrollIntoView({block: 'end'})")
        box = self.page.locator("#mask-svg").bounding_box()
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    def width(self) -> float:
        return float(self.page.locator("#mask-svg").bounding_box()["width"])

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.at(x, y))

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.page.mouse.move(*self.at(*start))
        self.page.mouse.down()
        box = self.page.locator("#mask-svg").bounding_box()
        self.page.mouse.move(
            box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=6
        )
        self.page.mouse.up()
