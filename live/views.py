"""The operators' video wall."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import access
from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from live import layouts, reports, selectors
from live.models import WallRoom
from live.roles import PRESET_EDITORS, WALL_VIEWERS


def _policy_with_live_processes() -> str:
    policy = {key: list(values) for key, values in settings.CONTENT_SECURITY_POLICY.items()}
    origins = sorted(
        {"{0.scheme}://{0.netloc}".format(urlsplit(u)) for u in settings.CSU_LIVE_URLS}
    )
    policy.setdefault("connect-src", ["'self'"]).extend(origins)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


@never_cache
@role_required(*WALL_VIEWERS)
def wall(request: SignedInRequest) -> HttpResponse:
    cameras = selectors.wall_cameras(request.user)
    response = render(
        request,
        "live/wall.html",
        {
            "cameras": cameras,
            # Without a training in force no camera opens (CSI L255-1): say so, not just "none".
            "training_refusal": access.training_refusal(request.user, None),
            "cameras_json": [
                {
                    "code": c.code,
                    "name": c.name,
                    "number": c.number,
                    "alert": c.alert,
                    "url": c.stream_url,
                }
                for c in cameras
            ],
            "labels": {
                "connecting": _("connexion…"),
                "live": _("en direct"),
                "reconnecting": _("reconnexion…"),
                "no_signal": _("pas de signal"),
                "alert": _("alerte enregistrement"),
                "refused": _("accès refusé"),
                "ended": _("accès retiré"),
                "unsupported": _("navigateur sans décodage H.264 (WebCodecs)"),
                "empty": _("vignette libre"),
                "unknown_number": _("aucune caméra n° %(n)s"),
                "report": _("Signaler"),
                "mine": _("Mes dispositions"),
                "presets": _("Préréglages de la salle"),
                "none": _("— aucune disposition enregistrée —"),
                "saved": _("Disposition « %(name)s » enregistrée."),
                "renamed": _("Disposition renommée."),
                "deleted": _("Disposition « %(name)s » supprimée."),
                "confirm_delete": _("Supprimer « %(name)s » ?"),
                "pick": _("Choisissez d'abord une disposition."),
                "need_name": _("Donnez un nom."),
                "need_room": _("Choisissez d'abord une salle."),
                "not_yours": _("Seul un chef de salle modifie les préréglages d'une salle."),
                "failed": _("Échec : %(error)s"),
                "loaded": _("Disposition « %(name)s » affichée."),
            },
            "saved_walls": {
                "mine": [layouts.layout_data(x) for x in layouts.own_layouts(request.user)],
                "presets": [layouts.layout_data(x) for x in layouts.presets()],
                "rooms": [{"id": r.pk, "name": r.name} for r in layouts.rooms()],
                "can_edit_presets": layouts.may_edit_presets(request.user),
                "layouts_url": reverse("live-layout-list"),
                "presets_url": reverse("live-preset-list"),
            },
            "can_edit_presets": layouts.may_edit_presets(request.user),
            "signalement_url": reports.report_url(request.user),
        },
    )
    if settings.CSU_LIVE_URLS:
        response["Content-Security-Policy"] = _policy_with_live_processes()
    return response


# --- Rooms (supervisors) ------------------------------------------------------------------------


def _refused_change(request: SignedInRequest, exc: ValidationError) -> None:
    for error in exc.messages:
        messages.error(request, error)


@never_cache
@role_required(*PRESET_EDITORS)
def rooms(request: SignedInRequest) -> HttpResponse:
    """The rooms where a wall is watched, each with its presets; a room is created here."""
    if request.method == "POST":
        try:
            room = layouts.room_create(actor=request.user, name=request.POST.get("name", ""))
        except ValidationError as exc:
            _refused_change(request, exc)
        else:
            messages.success(request, _("Salle « %(name)s » créée.") % {"name": room.name})
        return redirect("live:rooms")
    listed = list(layouts.rooms())
    by_room: dict[int, list] = {room.pk: [] for room in listed}
    for preset in layouts.presets():
        assert preset.room_id is not None  # a preset belongs to a room
        by_room[preset.room_id].append(preset)
    return render(
        request,
        "live/rooms.html",
        {
            "rooms": [(room, by_room[room.pk]) for room in listed],
            "name_length": layouts.NAME_LENGTH,
        },
    )


@role_required(*PRESET_EDITORS)
@require_POST
def room_rename(request: SignedInRequest, pk: int) -> HttpResponse:
    room = get_object_or_404(WallRoom, pk=pk)
    try:
        layouts.room_rename(room=room, actor=request.user, name=request.POST.get("name", ""))
    except ValidationError as exc:
        _refused_change(request, exc)
    else:
        messages.success(request, _("Salle renommée « %(name)s ».") % {"name": room.name})
    return redirect("live:rooms")


@role_required(*PRESET_EDITORS)
@require_POST
def room_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    room = get_object_or_404(WallRoom, pk=pk)
    name = room.name
    layouts.room_delete(room=room, actor=request.user)
    messages.success(
        request, _("Salle « %(name)s » supprimée, avec ses préréglages.") % {"name": name}
    )
    return redirect("live:rooms")
