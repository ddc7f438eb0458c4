from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import access
from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from accounts.roles import Right
from cameras import map as camera_map_data
from cameras import notices, retention, selectors, services
from cameras.filters import AuthorizationFilter, CameraFilter
from cameras.forms import AuthorizationForm, CameraForm, DeviceForm, MaskForm
from cameras.models import (
    Authorization,
    AuthorizationAlert,
    Camera,
    Device,
    MaskMode,
    PrivacyMask,
    RetentionChange,
)
from cameras.roles import (
    AUTHORIZATION_ALERT_HANDLERS,
    AUTHORIZATION_ALERT_READERS,
    HEALTH_WATCHERS,
    MAP_READERS,
    MASK_EDITORS,
    MASK_VALIDATORS,
    RECORDING_STOP_READERS,
    REGISTER_MANAGERS,
    REGISTER_READERS,
    RETENTION_DECIDERS,
    RETENTION_READERS,
)
from cameras.video import SourceError
from csu.lib.editor import editor_text
from csu.lib.forms import add_service_errors
from csu.lib.times import paris_text, utc_iso


def _camera(code: str) -> Camera:
    try:
        return selectors.camera_get(code=code)
    except Camera.DoesNotExist:
        raise Http404 from None


# --- Cameras ----------------------------------------------------------------------------------


@role_required(*REGISTER_READERS)
def camera_list(request: SignedInRequest) -> HttpResponse:
    found = CameraFilter(request.GET or None, queryset=selectors.camera_list())
    cameras = found.qs if found.is_valid() else found.queryset
    page = Paginator(cameras, 50).get_page(request.GET.get("page"))
    for camera in page.object_list:
        camera.flags = selectors.camera_flags(camera)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cameras/camera_list.html",
        {
            "form": found.form,
            "page": page,
            "query": query.urlencode(),
            "alerts": selectors.authorization_alerts(),
            "can_manage": request.user.has_role(*REGISTER_MANAGERS),
            "retention_pending": (
                RetentionChange.objects.filter(state=RetentionChange.State.PENDING).count()
                if request.user.has_role(*RETENTION_READERS)
                else None
            ),
        },
    )


@role_required(*REGISTER_READERS)
def camera_detail(request: SignedInRequest, code: str) -> HttpResponse:
    camera = _camera(code)
    return render(
        request,
        "cameras/camera_detail.html",
        {
            "camera": camera,
            "flags": selectors.camera_flags(camera),
            "masks": camera.mask_versions.select_related("author", "validated_by"),
            "outages": camera.outages.all()[:20],
            "may_view_live": selectors.may_view_live(request.user, camera),
            "can_manage": request.user.has_role(*REGISTER_MANAGERS),
            "can_edit_masks": request.user.has_role(*MASK_EDITORS),
            "can_validate_masks": request.user.has_role(*MASK_VALIDATORS),
            "retention_pending": retention.pending_change(camera),
            "can_follow_retention": request.user.has_role(*RETENTION_READERS),
        },
    )


@role_required(*REGISTER_MANAGERS)
def camera_create(request: SignedInRequest) -> HttpResponse:
    form = CameraForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("clear_credentials", None)
        try:
            camera = services.camera_create(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Caméra %(code)s enregistrée.") % {"code": camera.code})
            return redirect("cameras:camera_detail", code=camera.code)
    return render(request, "cameras/camera_form.html", {"form": form, "camera": None})


@role_required(*REGISTER_MANAGERS)
def camera_edit(request: SignedInRequest, code: str) -> HttpResponse:
    camera = get_object_or_404(Camera, code=code)
    # The form works on its own copy: the service compares against the stored camera.
    form = CameraForm(request.POST or None, instance=Camera.objects.get(pk=camera.pk))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            camera = services.camera_update(
                camera=camera,
                actor=request.user,
                stream_username=data.pop("stream_username") or None,
                stream_password=data.pop("stream_password") or None,
                clear_credentials=data.pop("clear_credentials", False),
                **data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Caméra %(code)s modifiée.") % {"code": camera.code})
            if camera.retention_request is not None:
                messages.warning(
                    request,
                    _(
                        "La réduction de la durée de conservation à %(days)s jours est en attente "
                        "de validation par le DPO : la caméra garde %(current)s jours d'ici là, "
                        "et les images déjà enregistrées les gardent ensuite."
                    )
                    % {
                        "days": camera.retention_request.new_days,
                        "current": camera.retention_request.old_days,
                    },
                )
            return redirect("cameras:camera_detail", code=camera.code)
    return render(request, "cameras/camera_form.html", {"form": form, "camera": camera})


@role_required(*REGISTER_READERS)
def camera_history(request: SignedInRequest, code: str) -> HttpResponse:
    camera = get_object_or_404(Camera, code=code)
    return render(
        request,
        "cameras/camera_history.html",
        {
            "camera": camera,
            "entries": selectors.camera_history(camera),
            "masks": camera.mask_versions.select_related("author", "validated_by"),
        },
    )


@require_POST
@role_required(*REGISTER_MANAGERS)
def camera_reset_reference(request: SignedInRequest, code: str) -> HttpResponse:
    camera = get_object_or_404(Camera, code=code)
    services.camera_reset_reference(camera=camera, actor=request.user)
    messages.success(request, _("La prochaine vérification prendra une nouvelle référence."))
    return redirect("cameras:camera_detail", code=camera.code)


@never_cache
def camera_snapshot(request: HttpRequest, code: str) -> HttpResponse:
    """The current image, software masks burnt in, for people habilitated for live view."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    camera = get_object_or_404(Camera, code=code)
    try:
        data = services.snapshot_take(camera=camera, actor=request.user)
    except SourceError as exc:
        return HttpResponse(
            _("Image indisponible : %(error)s") % {"error": exc},
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "no-store, private"
    return response


# --- Privacy masks ----------------------------------------------------------------------------


@role_required(*MASK_EDITORS)
def mask_editor(request: SignedInRequest, code: str) -> HttpResponse:
    camera = get_object_or_404(Camera, code=code)
    # Drawing happens over the live picture: the live-view habilitation is required.
    if not selectors.may_view_live(request.user, camera):
        raise PermissionDenied
    current = camera.current_mask()
    form = MaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mask = services.mask_save(
                camera=camera,
                polygons=form.cleaned_data["polygons"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Masques enregistrés (version %(v)s).") % {"v": mask.version}
            )
            return redirect("cameras:mask_editor", code=camera.code)
    polygons = (
        form.data.get("polygons")
        if form.is_bound
        else json.dumps(current.polygons if current else [])
    )
    return render(
        request,
        "cameras/mask_editor.html",
        {
            "camera": camera,
            "form": form,
            "current": current,
            "polygons_json": polygons or "[]",
            "modes": MaskMode.choices,
            "editor_text": editor_text(),
        },
    )


@require_POST
@role_required(*MASK_VALIDATORS)
def mask_validate(request: SignedInRequest, code: str, version: int) -> HttpResponse:
    mask = get_object_or_404(PrivacyMask, camera__code=code, version=version)
    try:
        services.mask_validate(mask=mask, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except services.OwnMasksRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Version %(v)s des masques validée.") % {"v": version})
    return redirect("cameras:camera_detail", code=code)


# --- Retention changes ------------------------------------------------------------------------


@role_required(*RETENTION_READERS)
def retention_changes(request: SignedInRequest) -> HttpResponse:
    changes = RetentionChange.objects.select_related("camera", "requested_by", "decided_by")
    return render(
        request,
        "cameras/retention_changes.html",
        {
            "pending": changes.filter(state=RetentionChange.State.PENDING),
            "decided": changes.exclude(state=RetentionChange.State.PENDING)[:200],
            "can_decide": request.user.has_role(*RETENTION_DECIDERS),
            "minimum": settings.MIN_RETENTION_DAYS,
        },
    )


@require_POST
@role_required(*RETENTION_DECIDERS)
def retention_change_validate(request: SignedInRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(RetentionChange, pk=pk)
    try:
        retention.retention_change_validate(
            change=change, actor=request.user, note=request.POST.get("note", "")
        )
    except (ValidationError, retention.RetentionChangeClosed) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _(
                "Caméra %(code)s : conservation réduite à %(days)s jours pour les images "
                "enregistrées à partir de maintenant."
            )
            % {"code": change.camera.code, "days": change.new_days},
        )
    return redirect("cameras:retention_changes")


@require_POST
@role_required(*RETENTION_DECIDERS)
def retention_change_refuse(request: SignedInRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(RetentionChange, pk=pk)
    try:
        retention.retention_change_refuse(
            change=change, actor=request.user, note=request.POST.get("note", "")
        )
    except (ValidationError, retention.RetentionChangeClosed) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Caméra %(code)s : réduction de la conservation refusée.")
            % {"code": change.camera.code},
        )
    return redirect("cameras:retention_changes")


def _error_text(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


# --- Health -----------------------------------------------------------------------------------


def _map_filter(request: SignedInRequest) -> CameraFilter:
    """The register's filters as its list applies them (commune, state...), except the sector,
    which the map's own select applies in the browser."""
    query = request.GET.copy()
    query.pop("sector", None)
    return CameraFilter(query or None, queryset=selectors.camera_list())


def _live_codes(user: object) -> frozenset[str]:
    """The codes of the cameras the viewer's habilitations open live, now."""
    return frozenset(
        Camera.objects.filter(access.scope(user, Right.LIVE).as_q()).values_list("code", flat=True)
    )


@role_required(*MAP_READERS)
def camera_map(request: SignedInRequest) -> HttpResponse:
    found = _map_filter(request)
    # A wrong value is named on the page, and the map shows the whole register, as the list.
    valid = not found.is_bound or found.is_valid()
    cameras = camera_map_data.room_cameras(found.qs if valid else found.queryset)
    sectors = camera_map_data.sectors_of(cameras)
    chosen = request.GET.get("sector", "")
    return render(
        request,
        "cameras/camera_map.html",
        {
            "map_data": camera_map_data.room_map_data(cameras, _live_codes(request.user)),
            "unplaced": [c for c in cameras if c.latitude is None or c.longitude is None],
            "sectors": sectors,
            "chosen_sector": chosen if chosen in sectors else "",
            "state_labels": camera_map_data.MapState.LABELS,
            "filter_errors": [
                f"{found.form[name].label} : {error}"
                for name, errors in ({} if valid else found.errors).items()
                for error in errors
            ],
        },
    )


@never_cache
@role_required(*MAP_READERS)
def camera_map_states(request: SignedInRequest) -> JsonResponse:
    """The map's cameras' states, for its refresh every 30 seconds."""
    found = _map_filter(request)
    if found.is_bound and not found.is_valid():
        return JsonResponse(
            {name: list(errors) for name, errors in found.errors.items()}, status=400
        )
    now = timezone.now()
    return JsonResponse(
        {
            "checked_at": utc_iso(now),
            "checked_at_text": paris_text(now, date=False),
            "cameras": camera_map_data.camera_states(camera_map_data.room_cameras(found.qs)),
        }
    )


@role_required(*HEALTH_WATCHERS)
def health_board(request: SignedInRequest) -> HttpResponse:
    cameras = list(selectors.health_board())
    for camera in cameras:
        camera.flags = selectors.camera_flags(camera)
        camera.down_since = selectors.open_outage_started(camera)
    return render(
        request,
        "cameras/health_board.html",
        {"rows": selectors.health_rows(cameras), "notices": notices.health_notices()},
    )


# --- Devices ----------------------------------------------------------------------------------


@role_required(*REGISTER_READERS)
def device_list(request: SignedInRequest) -> HttpResponse:
    return render(
        request,
        "cameras/device_list.html",
        {
            "devices": selectors.device_list(),
            "can_manage": request.user.has_role(*REGISTER_MANAGERS),
        },
    )


@role_required(*REGISTER_READERS)
def device_detail(request: SignedInRequest, code: str) -> HttpResponse:
    device = get_object_or_404(Device.objects.select_related("authorization"), code=code)
    sensors = list(selectors.device_sensors(device))
    for camera in sensors:
        camera.flags = selectors.camera_flags(camera)
    return render(
        request,
        "cameras/device_detail.html",
        {
            "device": device,
            "sensors": sensors,
            "can_manage": request.user.has_role(*REGISTER_MANAGERS),
        },
    )


@role_required(*REGISTER_MANAGERS)
def device_create(request: SignedInRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("clear_credentials", None)
        try:
            device = services.device_create(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Équipement %(code)s enregistré.") % {"code": device.code})
            return redirect("cameras:device_detail", code=device.code)
    return render(request, "cameras/device_form.html", {"form": form, "device": None})


@role_required(*REGISTER_MANAGERS)
def device_edit(request: SignedInRequest, code: str) -> HttpResponse:
    device = get_object_or_404(Device, code=code)
    # The form works on its own copy: the service compares against the stored device.
    form = DeviceForm(request.POST or None, instance=Device.objects.get(pk=device.pk))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            device = services.device_update(
                device=device,
                actor=request.user,
                stream_username=data.pop("stream_username") or None,
                stream_password=data.pop("stream_password") or None,
                clear_credentials=data.pop("clear_credentials", False),
                **data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            device = Device.objects.get(pk=device.pk)  # as stored: nothing was changed
        else:
            messages.success(request, _("Équipement %(code)s modifié.") % {"code": device.code})
            return redirect("cameras:device_detail", code=device.code)
    return render(request, "cameras/device_form.html", {"form": form, "device": device})


# --- Authorizations ---------------------------------------------------------------------------


@role_required(*REGISTER_READERS)
def authorization_list(request: SignedInRequest) -> HttpResponse:
    found = AuthorizationFilter(request.GET or None, queryset=selectors.authorization_list())
    return render(
        request,
        "cameras/authorization_list.html",
        {
            "form": found.form,
            "authorizations": found.qs if found.is_valid() else found.queryset,
            "can_manage": request.user.has_role(*REGISTER_MANAGERS),
        },
    )


@role_required(*REGISTER_READERS)
def authorization_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    authorization = get_object_or_404(Authorization, pk=pk)
    return render(
        request,
        "cameras/authorization_detail.html",
        {
            "authorization": authorization,
            "cameras": selectors.camera_list().filter(authorization=authorization),
            "can_manage": request.user.has_role(*REGISTER_MANAGERS),
        },
    )


@role_required(*REGISTER_MANAGERS)
def authorization_create(request: SignedInRequest) -> HttpResponse:
    form = AuthorizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            authorization = services.authorization_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Autorisation %(n)s enregistrée.") % {"n": authorization})
            return redirect("cameras:authorization_detail", pk=authorization.pk)
    return render(request, "cameras/authorization_form.html", {"form": form, "authorization": None})


@role_required(*REGISTER_MANAGERS)
def authorization_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    authorization = get_object_or_404(Authorization, pk=pk)
    form = AuthorizationForm(request.POST or None, instance=Authorization.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            authorization = services.authorization_update(
                authorization=authorization, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Autorisation %(n)s modifiée.") % {"n": authorization})
            return redirect("cameras:authorization_detail", pk=authorization.pk)
    return render(
        request,
        "cameras/authorization_form.html",
        {"form": form, "authorization": authorization},
    )


# --- Expiry alerts of the authorizations -------------------------------------------------------


@role_required(*AUTHORIZATION_ALERT_READERS)
def authorization_alert_list(request: SignedInRequest) -> HttpResponse:
    alerts = selectors.authorization_alert_list()
    closed = alerts.exclude(acknowledged_at__isnull=True, superseded_at__isnull=True)
    return render(
        request,
        "cameras/authorization_alerts.html",
        {
            "open": selectors.authorization_alerts_open(),
            "closed": Paginator(closed, 100).get_page(request.GET.get("page")),
            "today": timezone.localdate(),
            "can_acknowledge": request.user.has_role(*AUTHORIZATION_ALERT_HANDLERS),
        },
    )


@require_POST
@role_required(*AUTHORIZATION_ALERT_HANDLERS)
def authorization_alert_acknowledge(request: SignedInRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(AuthorizationAlert.objects.select_related("authorization"), pk=pk)
    try:
        services.authorization_alert_acknowledge(
            alert=alert, actor=request.user, note=request.POST.get("note", "")
        )
    except (ValidationError, services.AlertClosed) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Alerte de l'autorisation %(number)s prise en compte.")
            % {"number": alert.authorization.number},
        )
    return redirect("cameras:authorization_alert_list")


# --- Cameras stopped for want of an authorization -----------------------------------------------


@role_required(*RECORDING_STOP_READERS)
def recording_stops(request: SignedInRequest) -> HttpResponse:
    page = Paginator(selectors.recording_stop_events().reverse(), 100).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "cameras/recording_stops.html",
        {
            "stopped": selectors.unauthorized_cameras(),
            "page": page,
            "history": selectors.recording_stop_rows(page.object_list),
        },
    )
