"""Fixtures of the compliance tests: data folders, a movable clock, a month of activity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from django.utils import timezone


@pytest.fixture(autouse=True)
def _data_dirs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def clock(monkeypatch) -> Callable[[datetime], object]:
    """``with clock(moment):`` — everything that asks ``timezone.now()`` gets ``moment``."""
    real_now = timezone.now

    @contextmanager
    def at(moment: datetime) -> Iterator[None]:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        try:
            yield
        finally:
            monkeypatch.setattr(timezone, "now", real_now)

    return at
