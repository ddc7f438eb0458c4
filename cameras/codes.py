"""Camera codes as people type them: ``cam-2``, ``cam 2``, ``CAM002`` and ``2`` all name
``CAM-002``. Every form, filter and API that takes a typed code resolves it here."""

from __future__ import annotations

import re
from collections.abc import Iterable

from cameras.models import Camera

_TOKENS = re.compile(r"[A-Z]+|[0-9]+")


def code_key(text: str) -> str:
    """The comparable form of a code: capitals, separators dropped, numbers without their
    leading zeros (``cam 2`` → ``CAM-2``, ``CAM-002`` → ``CAM-2``)."""
    tokens = _TOKENS.findall((text or "").strip().upper())
    return "-".join(str(int(t)) if t.isdigit() else t for t in tokens)


def resolve_each(typed: Iterable[str]) -> dict[str, Camera | None]:
    """Each typed code (stripped) and the one camera it names, or None.

    A code matches exactly (ignoring case), else by :func:`code_key`, else, for a bare number,
    the only camera whose code carries that number alone. Two cameras matching is no match.
    """
    wanted = list(dict.fromkeys(t.strip() for t in typed if t and t.strip()))
    if not wanted:
        return {}
    codes = list(Camera.objects.values_list("pk", "code"))
    exact = {code.upper(): pk for pk, code in codes}
    by_key: dict[str, list[int]] = {}
    by_number: dict[str, list[int]] = {}
    for pk, code in codes:
        key = code_key(code)
        by_key.setdefault(key, []).append(pk)
        numbers = [t for t in key.split("-") if t.isdigit()]
        if len(numbers) == 1:
            by_number.setdefault(numbers[0], []).append(pk)
    chosen: dict[str, int | None] = {}
    for text in wanted:
        key = code_key(text)
        if text.upper() in exact:
            candidates = [exact[text.upper()]]
        else:
            candidates = by_key.get(key) or (by_number.get(key, []) if key.isdigit() else [])
        chosen[text] = candidates[0] if len(candidates) == 1 else None
    loaded = Camera.objects.select_related("authorization").in_bulk(
        [pk for pk in chosen.values() if pk is not None]
    )
    return {text: None if pk is None else loaded[pk] for text, pk in chosen.items()}


def resolve_codes(typed: Iterable[str]) -> tuple[list[Camera], list[str]]:
    """The cameras the typed codes name (in order, each once) and the typed codes naming none."""
    cameras: dict[int, Camera] = {}
    unknown: list[str] = []
    for text, camera in resolve_each(typed).items():
        if camera is None:
            unknown.append(text)
        else:
            cameras.setdefault(camera.pk, camera)
    return list(cameras.values()), unknown


def resolve_code(typed: str) -> Camera | None:
    """The one camera ``typed`` names, or None."""
    return resolve_each([typed]).get(typed.strip())


def split_codes(text: str) -> list[str]:
    """The codes of a typed list (spaces, commas or semicolons between them); a word followed
    by a number is one code (``cam 2, cam 3`` → ``cam 2``, ``cam 3``)."""
    words = (text or "").replace(",", " ").replace(";", " ").split()
    codes: list[str] = []
    for word in words:
        if codes and codes[-1].isalpha() and word[:1].isdigit():
            codes[-1] = f"{codes[-1]} {word}"
        else:
            codes.append(word)
    return codes
