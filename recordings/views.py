"""Pages of the recordings: replay (timeline, reason, player, video) and the recorders' state."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache

from accounts import access
from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from accounts.roles import Right
from cameras.models import LEGAL_MAX_RETENTION_DAYS, Camera
from cameras.purposes import Purpose, purpose_label
from recordings import playback, procedures, selectors
from recordings.roles import RECORDER_WATCHERS, REPLAYERS

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class PlaybackForm(forms.Form):
    """The range to watch, the procedure it is watched within and the reason.

    ``procedure_choices`` are the procedures in course covering the camera (and the levée de
    doute where the city allows it): any other value sent is refused by the field itself.
    """

    procedure = forms.ChoiceField(
        label=gettext_lazy("Dans le cadre de"),
        error_messages={
            "required": gettext_lazy(
                "Choisissez la procédure dans le cadre de laquelle ces images sont relues."
            ),
            "invalid_choice": gettext_lazy(
                "Cette procédure n'est pas en cours ou ne couvre pas cette caméra."
            ),
        },
        help_text=gettext_lazy(
            "La réquisition judiciaire ou la demande d'accès qui couvre cette caméra : la "
            "période doit être comprise dans l'une de ses plages."
        ),
    )
    start = forms.DateTimeField(
        label=gettext_lazy("Début (heure de Paris)"),
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
    )
    end = forms.DateTimeField(
        label=gettext_lazy("Fin (heure de Paris)"),
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
    )
    purpose = forms.ChoiceField(
        label=gettext_lazy("Finalité poursuivie"),
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy(
                "L'autorisation préfectorale de cette caméra ne liste pas cette finalité."
            ),
        },
        help_text=gettext_lazy(
            "Parmi celles que l'autorisation préfectorale de la caméra liste (CSI L251-2) ; "
            "une demande d'accès sert le droit d'accès de la personne filmée."
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Motif de la relecture"),
        min_length=playback.REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Obligatoire : il est inscrit au journal d'audit avec la procédure, la caméra et la "
            "période."
        ),
    )

    def __init__(
        self,
        *args: Any,
        procedure_choices: list[tuple[str, str]],
        purpose_choices: list[tuple[str, str]],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        field = self.fields["procedure"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = procedure_choices
        field = self.fields["purpose"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = purpose_choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end"):
            try:
                playback.check_range(data["start"], data["end"])
            except playback.PlaybackError as exc:
                raise forms.ValidationError(str(exc)) from None
        parsed = procedures.parse_key(data.get("procedure", ""))
        if data.get("procedure") and parsed is None:
            self.add_error("procedure", gettext("Procédure inconnue."))
        data["procedure_ref"] = parsed
        minimum = playback.reason_min_length(parsed[0] if parsed else None)
        if data.get("reason") and len(data["reason"].strip()) < minimum:
            self.add_error(
                "reason",
                gettext(
                    "Sans procédure (levée de doute), le motif doit compter %(n)s caractères au "
                    "moins : il est seul à justifier la relecture."
                )
                % {"n": minimum},
            )
        return data


def _purpose_choices(camera: Camera, covering: list[procedures.Procedure]) -> list[tuple[str, str]]:
    """The purposes the camera's authorization lists, and what an access request serves when
    one covers the camera (the service checks the pair procedure–purpose)."""
    authorization = camera.authorization if camera.authorization_id else None
    listed = [code for code in Purpose.values if authorization and code in authorization.purposes]
    imposed = sorted({p.purpose for p in covering if p.purpose})
    return [("", gettext("— Choisissez —"))] + [
        (code, purpose_label(code)) for code in [*listed, *imposed]
    ]


def _procedure_choices(
    covering: list[procedures.Procedure], operational_hours: int
) -> list[tuple[str, str]]:
    choices = [("", gettext("— Choisissez —"))] if covering or operational_hours else []
    choices += [(p.key, f"{p.label} ({p.state})" if p.state else p.label) for p in covering]
    if operational_hours:
        choices.append(
            (
                procedures.OPERATIONAL,
                gettext("Levée de doute (sans procédure, %(hours)s dernières heures)")
                % {"hours": operational_hours},
            )
        )
    return choices


def _prefilled(
    request: HttpRequest, covering: list[procedures.Procedure], operational_hours: int
) -> dict[str, Any]:
    """The form's initial values from ``?procedure=<key>&plage=<n>``: the chosen procedure and
    its window (cut to the longest range watched at once), or the last minutes for a levée de
    doute."""
    key = request.GET.get("procedure", "")
    longest = timedelta(seconds=settings.RECORDING_PLAYBACK_MAX_SECONDS)
    if key == procedures.OPERATIONAL and operational_hours:
        end = timezone.now().replace(microsecond=0)
        start = end - min(longest, timedelta(hours=operational_hours), timedelta(minutes=15))
        return {
            "procedure": key,
            "start": timezone.localtime(start),
            "end": timezone.localtime(end),
        }
    chosen = next((p for p in covering if p.key == key), None)
    if chosen is None:
        return {}
    try:
        window = chosen.windows[int(request.GET.get("plage", "0"))]
    except (ValueError, IndexError):
        window = chosen.windows[0]
    end = min(window.ends_at, window.starts_at + longest)
    return {
        "procedure": key,
        "start": timezone.localtime(window.starts_at),
        "end": timezone.localtime(end),
    }


def _refused(request: HttpRequest, camera: Camera, reason: str) -> HttpResponse:
    return render(
        request, "recordings/refused.html", {"camera": camera, "reason": reason}, status=403
    )


def _replay_camera(request: HttpRequest, code: str) -> tuple[Camera, HttpResponse | None]:
    """The camera (404 when unknown) and, when the person may not replay it, the refusal."""
    camera = get_object_or_404(Camera, code=code)
    decision = access.decide(request.user, Right.REPLAY, camera)
    if not decision:
        return camera, _refused(request, camera, decision.reason)
    return camera, None


def _day(request: HttpRequest) -> date:
    today = timezone.localdate()
    try:
        day = date.fromisoformat(request.GET.get("jour", ""))
    except ValueError:
        return today
    return min(max(day, today - timedelta(days=LEGAL_MAX_RETENTION_DAYS)), today)


# --- Replay -----------------------------------------------------------------------------------


@role_required(*REPLAYERS)
def replay_index(request: SignedInRequest) -> HttpResponse:
    return render(
        request,
        "recordings/replay_index.html",
        {"cameras": selectors.replay_cameras(request.user)},
    )


@never_cache
@role_required(*REPLAYERS)
def replay_camera(request: SignedInRequest, code: str) -> HttpResponse:
    """The camera's timeline for a day and the form that states the reason and the range."""
    camera, refusal = _replay_camera(request, code)
    if refusal:
        return refusal
    covering = procedures.covering(camera, request.user)
    operational_hours = procedures.operational_hours()
    initial = _prefilled(request, covering, operational_hours)
    day = timezone.localdate(initial["start"]) if initial and "jour" not in request.GET else None
    day = day or _day(request)
    form = PlaybackForm(
        request.POST or None,
        initial=initial,
        procedure_choices=_procedure_choices(covering, operational_hours),
        purpose_choices=_purpose_choices(camera, covering),
    )
    if request.method == "POST" and form.is_valid():
        try:
            prepared = playback.playback_create(
                camera=camera,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                reason=form.cleaned_data["reason"],
                procedure=form.cleaned_data["procedure_ref"],
                purpose=form.cleaned_data["purpose"],
                actor=request.user,
                session=request.session,
            )
        except PermissionDenied as exc:
            return _refused(request, camera, str(exc))
        except playback.PlaybackError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("recordings:replay_player", code=camera.code, token=prepared.token)
        day = timezone.localdate(form.cleaned_data["start"])
    window_start, window_end = selectors.day_window(day)
    return render(
        request,
        "recordings/replay_camera.html",
        {
            "camera": camera,
            "form": form,
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1) if day < timezone.localdate() else None,
            "timeline": selectors.timeline(camera, window_start, window_end),
            "max_minutes": settings.RECORDING_PLAYBACK_MAX_SECONDS // 60,
            "procedures": covering,
            "operational_hours": operational_hours,
            "operational_key": procedures.OPERATIONAL,
            "chosen": initial.get("procedure", ""),
        },
    )


def _playback(request: HttpRequest, camera: Camera, token: str) -> playback.Playback:
    prepared = playback.playback_get(request.session, token)
    if prepared is None or prepared.camera_id != camera.pk:
        raise Http404
    return prepared


@never_cache
@role_required(*REPLAYERS)
def replay_player(request: SignedInRequest, code: str, token: str) -> HttpResponse:
    camera, refusal = _replay_camera(request, code)
    if refusal:
        return refusal
    return render(
        request,
        "recordings/replay_player.html",
        {"camera": camera, "playback": _playback(request, camera, token)},
    )


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) of a single ``bytes=`` range; None to send the whole file."""
    match = _RANGE.match(header.strip())
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
    else:
        first, last = max(size - int(match[2]), 0), size - 1
    if first >= size or first > last:
        raise ValueError
    return first, last


@never_cache
@role_required(*REPLAYERS)  # type: ignore[arg-type]  # typed for HttpResponse; streams pass too
def replay_video(request: SignedInRequest, code: str, token: str) -> HttpResponseBase:
    """The prepared MP4, whole or by byte ranges (the browser seeks with Range requests)."""
    camera, refusal = _replay_camera(request, code)
    if refusal:
        return refusal
    prepared = _playback(request, camera, token)
    source = playback.open_playback(prepared)
    size = source.size
    try:
        wanted = _byte_range(request.headers.get("Range", ""), size)
    except ValueError:
        source.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    first, last = wanted or (0, size - 1)
    stream = StreamingHttpResponse(
        source.iter_range(first, last), status=206 if wanted else 200, content_type="video/mp4"
    )
    if wanted:
        stream["Content-Range"] = f"bytes {first}-{last}/{size}"
    stream["Content-Length"] = str(last - first + 1)
    stream["Accept-Ranges"] = "bytes"
    stream["Content-Disposition"] = "inline"
    stream["Cache-Control"] = "no-store, private"
    return stream


# --- Operations -------------------------------------------------------------------------------


@role_required(*RECORDER_WATCHERS)
def operations(request: SignedInRequest) -> HttpResponse:
    rows = selectors.operations_board()
    return render(
        request,
        "recordings/operations.html",
        {"rows": rows, "alerts": [row for row in rows if row.alert]},
    )
