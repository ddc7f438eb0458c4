"""Notices of the health board that other apps raise (the recorders' server clock, say).

The cameras app cannot read the apps above it: they register a source here in their
``AppConfig.ready``, and the health board shows what each says now.
"""

from __future__ import annotations

from collections.abc import Callable

#: Each returns the notices in force now, in words (empty when all is well).
_SOURCES: list[Callable[[], list[str]]] = []


def register(source: Callable[[], list[str]]) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def health_notices() -> list[str]:
    return [notice for source in _SOURCES for notice in source()]
