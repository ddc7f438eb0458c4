"""Saved walls: each person's own layouts, and the shared presets of a room.

A person creates, renames, changes and deletes only their own layouts; the presets of a room
are read by everyone who opens the wall and changed by supervisors only, each change an audit
event. A saved wall names cameras by code and checks none of the viewer's rights: the stream
does that when it opens, so a camera no longer open to the viewer shows as refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from audit.services import record
from cameras.models import Camera
from live.models import WALL_SIZES, WallLayout, WallRoom
from live.roles import PRESET_EDITORS

#: Who changes the rooms and their presets.
#: A tour's interval, in seconds (as on the wall's tour form).
TOUR_SECONDS = (3, 600)
#: At most this many cameras in one tile's tour.
TOUR_CAMERAS = 64
NAME_LENGTH = 80


def may_edit_presets(user: Any) -> bool:
    return getattr(user, "role", None) in PRESET_EDITORS


def _clean_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({field: _("Donnez un nom.")})
    name = " ".join(name.split())
    if len(name) > NAME_LENGTH:
        raise ValidationError(
            {field: _("Nom trop long : %(n)s caractères au plus.") % {"n": NAME_LENGTH}}
        )
    return name


def _clean_size(size: Any) -> int:
    if isinstance(size, bool) or size not in WALL_SIZES:
        raise ValidationError(
            {"size": _("Nombre de vignettes invalide : 1, 4, 9 ou 16.")}, code="size"
        )
    return int(size)


def _tile(index: int, entry: Any) -> dict[str, Any]:
    """One tile in its stored form; a bare code or null stand for a camera or an empty tile."""
    where = _("vignette %(n)s") % {"n": index + 1}
    if entry is None or isinstance(entry, str):
        entry = {"camera": entry}
    if not isinstance(entry, dict) or set(entry) - {"camera", "tour", "seconds"}:
        raise ValidationError(
            _("%(where)s : attendu une caméra, une tournée ou rien.") % {"where": where}
        )
    camera = entry.get("camera") or None
    tour = entry.get("tour") or []
    seconds = entry.get("seconds")
    if camera is not None and not isinstance(camera, str):
        raise ValidationError(_("%(where)s : code de caméra invalide.") % {"where": where})
    if not isinstance(tour, list) or not all(isinstance(c, str) and c for c in tour):
        raise ValidationError(
            _("%(where)s : la tournée est une liste de codes de caméras.") % {"where": where}
        )
    if tour:
        if camera is not None:
            raise ValidationError(
                _("%(where)s : une caméra ou une tournée, pas les deux.") % {"where": where}
            )
        if len(tour) > TOUR_CAMERAS:
            raise ValidationError(
                _("%(where)s : %(n)s caméras au plus dans une tournée.")
                % {"where": where, "n": TOUR_CAMERAS}
            )
        low, high = TOUR_SECONDS
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
            raise ValidationError(
                _("%(where)s : intervalle de la tournée entre %(low)s et %(high)s secondes.")
                % {"where": where, "low": low, "high": high}
            )
        return {"camera": None, "tour": tour, "seconds": seconds}
    if seconds is not None:
        raise ValidationError(_("%(where)s : un intervalle sans tournée.") % {"where": where})
    return {"camera": camera, "tour": [], "seconds": None}


def clean_tiles(size: int, tiles: Any) -> list[dict[str, Any]]:
    """The tiles in their stored form, one per tile; every camera code must be in the register."""
    if not isinstance(tiles, list):
        raise ValidationError({"tiles": _("Les vignettes sont une liste.")})
    if len(tiles) != size:
        raise ValidationError(
            {
                "tiles": _("%(got)s vignettes décrites pour une disposition de %(size)s.")
                % {"got": len(tiles), "size": size}
            }
        )
    try:
        cleaned = [_tile(i, entry) for i, entry in enumerate(tiles)]
    except ValidationError as exc:
        raise ValidationError({"tiles": exc.messages}) from None
    codes = {c for tile in cleaned for c in [tile["camera"], *tile["tour"]] if c}
    known = set(Camera.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = sorted(codes - known)
    if unknown:
        raise ValidationError(
            {"tiles": _("Caméra inconnue : %(codes)s.") % {"codes": ", ".join(unknown)}}
        )
    return cleaned


def layout_data(layout: WallLayout) -> dict[str, Any]:
    """What the wall's page and the API show of a saved wall."""
    return {
        "id": layout.pk,
        "name": layout.name,
        "size": layout.size,
        "tiles": layout.tiles,
        "room": layout.room_id,
    }


# --- Reads ------------------------------------------------------------------------------------


def own_layouts(user: Any) -> QuerySet[WallLayout]:
    return WallLayout.objects.filter(owner=user, room__isnull=True).order_by("name")


def rooms() -> QuerySet[WallRoom]:
    return WallRoom.objects.order_by("name")


def presets(room: WallRoom | None = None) -> QuerySet[WallLayout]:
    found = WallLayout.objects.filter(room__isnull=False, owner__isnull=True)
    if room is not None:
        found = found.filter(room=room)
    return found.order_by("room__name", "name")


# --- Changes ----------------------------------------------------------------------------------


def _require_editor(actor: Any) -> None:
    if not may_edit_presets(actor):
        raise PermissionDenied(_("Seul un chef de salle modifie les salles et leurs préréglages."))


def _check_editor(layout: WallLayout | None, room: WallRoom | None, actor: Any) -> None:
    if room is not None:
        _require_editor(actor)
    elif layout is not None and layout.owner_id != actor.pk:
        raise PermissionDenied(_("Cette disposition n'est pas la vôtre."))


def _save(layout: WallLayout) -> None:
    layout.full_clean()
    try:
        with transaction.atomic():
            layout.save()
    except IntegrityError:
        # Two stations saving the same name at once: the second is told, as by full_clean.
        taken = (
            _("Cette salle a déjà un préréglage de ce nom.")
            if layout.room_id
            else _("Vous avez déjà une disposition de ce nom.")
        )
        raise ValidationError({"name": taken}) from None


def _preset_event(action: str, layout: WallLayout, actor: Any, **details: Any) -> None:
    record(
        action,
        actor=actor,
        target=layout,
        target_label=f"{layout.room} — {layout.name}",
        details={"room": layout.room_id, "room_name": str(layout.room), **details},
    )


@transaction.atomic
def layout_create(
    *, actor: Any, name: Any, size: Any, tiles: Any, room: WallRoom | None = None
) -> WallLayout:
    """A new layout of the actor's, or, with ``room``, a preset of that room (supervisors)."""
    _check_editor(None, room, actor)
    size = _clean_size(size)
    layout = WallLayout(
        owner=None if room else actor,
        room=room,
        name=_clean_name(name),
        size=size,
        tiles=clean_tiles(size, tiles),
    )
    _save(layout)
    if room is not None:
        _preset_event(
            "live.preset_created", layout, actor, name=layout.name, size=size, tiles=layout.tiles
        )
    return layout


@transaction.atomic
def layout_update(*, layout: WallLayout, actor: Any, **changes: Any) -> WallLayout:
    """Renames the layout, or replaces its tiles (``name``, ``size`` with ``tiles``)."""
    _check_editor(layout, layout.room, actor)
    unexpected = set(changes) - {"name", "size", "tiles"}
    if unexpected:
        raise ValidationError(
            {
                "non_field_errors": _("Champs inconnus : %(f)s.")
                % {"f": ", ".join(sorted(unexpected))}
            }
        )
    layout = WallLayout.objects.select_for_update().get(pk=layout.pk)
    before = {"name": layout.name, "size": layout.size, "tiles": layout.tiles}
    if "name" in changes:
        layout.name = _clean_name(changes["name"])
    if "size" in changes or "tiles" in changes:
        size = _clean_size(changes.get("size", layout.size))
        if "tiles" not in changes:
            raise ValidationError({"tiles": _("Donnez les vignettes de la nouvelle disposition.")})
        layout.size = size
        layout.tiles = clean_tiles(size, changes["tiles"])
    _save(layout)
    if layout.room_id is not None:
        after = {"name": layout.name, "size": layout.size, "tiles": layout.tiles}
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        _preset_event("live.preset_changed", layout, actor, changes=changed)
    return layout


@transaction.atomic
def layout_delete(*, layout: WallLayout, actor: Any) -> None:
    _check_editor(layout, layout.room, actor)
    layout = (
        WallLayout.objects.select_for_update(of=("self",)).select_related("room").get(pk=layout.pk)
    )
    if layout.room_id is not None:
        _preset_event(
            "live.preset_deleted",
            layout,
            actor,
            name=layout.name,
            size=layout.size,
            tiles=layout.tiles,
        )
    layout.delete()


def _room_event(action: str, room: WallRoom, actor: Any, **details: Any) -> None:
    record(action, actor=actor, target=room, details={"name": room.name, **details})


def _save_room(room: WallRoom) -> None:
    room.name = _clean_name(room.name)
    room.full_clean()
    try:
        with transaction.atomic():
            room.save()
    except IntegrityError:
        raise ValidationError({"name": _("Une salle porte déjà ce nom.")}) from None


@transaction.atomic
def room_create(*, actor: Any, name: Any) -> WallRoom:
    _require_editor(actor)
    room = WallRoom(name=name if isinstance(name, str) else "")
    _save_room(room)
    _room_event("live.room_created", room, actor)
    return room


@transaction.atomic
def room_rename(*, room: WallRoom, actor: Any, name: Any) -> WallRoom:
    _require_editor(actor)
    before = room.name
    room.name = name if isinstance(name, str) else ""
    _save_room(room)
    if room.name != before:
        _room_event("live.room_renamed", room, actor, previous=before)
    return room


@transaction.atomic
def room_delete(*, room: WallRoom, actor: Any) -> None:
    """Deletes the room and its presets (named in the event)."""
    _require_editor(actor)
    names: Iterable[str] = presets(room).values_list("name", flat=True)
    _room_event("live.room_deleted", room, actor, presets=list(names))
    room.delete()
