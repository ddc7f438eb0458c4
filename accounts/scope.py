"""What a habilitation may cover: the sectors and the cameras of the register.

accounts knows no camera (cameras sits above it): the cameras app registers, in its
AppConfig.ready, the function that lists them. The habilitation forms offer these lists, and
the services refuse a sector or a camera code the register does not know, for the pages and
the API alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Scope:
    """The sectors (names) and the cameras (code, label) a habilitation may name."""

    sectors: list[str]
    cameras: list[tuple[str, str]]


ScopeSource = Callable[[], Scope]

_sources: list[ScopeSource] = []


def register_source(source: ScopeSource) -> None:
    """Called from an AppConfig.ready; registering the same source twice changes nothing."""
    if source not in _sources:
        _sources.append(source)


def available() -> Scope:
    """Every registered source's sectors and cameras, sorted, each once."""
    sectors: set[str] = set()
    cameras: dict[str, str] = {}
    for source in _sources:
        found = source()
        sectors.update(found.sectors)
        cameras.update(found.cameras)
    return Scope(sorted(sectors, key=str.casefold), sorted(cameras.items()))


def _listed(values: Iterable[str]) -> str:
    return ", ".join(f"« {value} »" for value in values)


def unknown(sectors: Iterable[str], camera_codes: Iterable[str]) -> dict[str, list[str]]:
    """The refusal of each field naming a sector or a camera the register does not know."""
    scope = available()
    errors: dict[str, list[str]] = {}
    bad_sectors = sorted(set(sectors) - set(scope.sectors))
    if bad_sectors:
        errors["sectors"] = [
            _("Secteur inconnu du registre des caméras : %(values)s.")
            % {"values": _listed(bad_sectors)}
        ]
    bad_codes = sorted(set(camera_codes) - {code for code, _label in scope.cameras})
    if bad_codes:
        errors["camera_codes"] = [
            _("Caméra inconnue du registre (ou retirée du service) : %(values)s.")
            % {"values": _listed(bad_codes)}
        ]
    return errors
