from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from cameras.models import Camera, CameraStatus
from csu.lib.csvfile import csv_stream
from csu.lib.forms import add_service_errors
from csu.lib.times import paris_text
from evidence.models import Requisition
from operations import reports, selectors, services, stats
from operations.filters import AlarmFilter, SignalementFilter
from operations.forms import (
    CloseForm,
    NoteForm,
    PeriodForm,
    QuickSignalementForm,
    RequisitionLinkForm,
    RotaGeneratorForm,
    RotaSlotForm,
    ServiceAlertForm,
    ShiftCloseForm,
)
from operations.models import Alarm, Category, RotaSlot, Shift, Signalement
from operations.roles import (
    ALARM_HANDLERS,
    ALARM_HISTORY_READERS,
    REQUISITION_LINKERS,
    ROOM_MANAGERS,
    ROOM_STAFF,
    STATISTICS_READERS,
)

#: Rows of one CSV export at most (a year of a busy room is about 8,000).
CSV_LIMIT = 100_000


def _safe_next(request: HttpRequest) -> str:
    """The page to go back to, only if it is on this site."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _signalement(number: str) -> Signalement:
    try:
        return selectors.signalement_get(number=number)
    except Signalement.DoesNotExist:
        raise Http404 from None


# --- Dashboard ----------------------------------------------------------------------------------


#: Seconds between two refreshes of each part of the dashboard.
DASHBOARD_REFRESH_SECONDS = 15

#: The dashboard's parts: each is a template of its own (``operations/dashboard/<name>.html``)
#: that the page includes and that htmx refreshes from ``dashboard_part``, and what it shows
#: for a person at a moment.
DASHBOARD_PARTS: dict[str, Callable[[Any, datetime], dict[str, Any]]] = {
    "alarmes": lambda user, now: selectors.dashboard_alarms(),
    "etat": lambda user, now: {},
    "en-service": lambda user, now: selectors.dashboard_duty(now),
    "sante": lambda user, now: selectors.dashboard_health(),
    "cameras-en-defaut": lambda user, now: selectors.dashboard_failing(),
    "signalements": lambda user, now: selectors.dashboard_signalements(),
    "requisitions": lambda user, now: selectors.dashboard_requisitions(user),
    "enregistrement": lambda user, now: selectors.dashboard_recording(now),
    "autorisations": lambda user, now: selectors.dashboard_authorization_alerts(user),
}


@never_cache
@role_required(*ROOM_STAFF)
def dashboard(request: SignedInRequest) -> HttpResponse:
    now = timezone.now()
    context: dict[str, Any] = {
        "now": now,
        "refresh_seconds": DASHBOARD_REFRESH_SECONDS,
        "my_shift": selectors.open_shift(request.user),
        "alarm_page": False,
    }
    for read in DASHBOARD_PARTS.values():
        context.update(read(request.user, now))
    return render(request, "operations/dashboard.html", context)


@never_cache
@role_required(*ROOM_STAFF)
def dashboard_part(request: HttpRequest, part: str) -> HttpResponse:
    """One part of the dashboard, alone: what the page's htmx polling swaps in."""
    read = DASHBOARD_PARTS.get(part)
    if read is None:
        raise Http404
    now = timezone.now()
    # The alarm queue is also a page of its own: its forms come back to where it is shown, and
    # it lists more alarms there.
    alarm_page = part == "alarmes" and request.GET.get("page") == "alarmes"
    shown = (
        selectors.dashboard_alarms(limit=selectors.ALARM_QUEUE_ROWS)
        if alarm_page
        else read(request.user, now)
    )
    context = {
        "now": now,
        "refresh_seconds": DASHBOARD_REFRESH_SECONDS,
        "alarm_page": alarm_page,
        **shown,
    }
    return render(request, f"operations/dashboard/{part}.html", context)


# --- Alarms -------------------------------------------------------------------------------------


@never_cache
@role_required(*ALARM_HANDLERS)
def alarm_list(request: SignedInRequest) -> HttpResponse:
    """The alarm queue, alone on its page (the dashboard shows it first too)."""
    context: dict[str, Any] = {
        "now": timezone.now(),
        "refresh_seconds": DASHBOARD_REFRESH_SECONDS,
        "alarm_page": True,
        "may_read_history": request.user.has_role(*ALARM_HISTORY_READERS),
        **selectors.dashboard_alarms(limit=selectors.ALARM_QUEUE_ROWS),
    }
    return render(request, "operations/alarms.html", context)


def _alarm_return(request: HttpRequest) -> str:
    return _safe_next(request) or "operations:alarm_list"


@require_POST
@role_required(*ALARM_HANDLERS)
def alarm_acknowledge(request: SignedInRequest, pk: int) -> HttpResponse:
    alarm = get_object_or_404(Alarm, pk=pk)
    try:
        services.alarm_acknowledge(
            alarm=alarm, comment=request.POST.get("comment", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Alarme acquittée : %(title)s") % {"title": alarm.title})
    return redirect(_alarm_return(request))


@require_POST
@role_required(*ALARM_HANDLERS)
def alarm_close(request: SignedInRequest, pk: int) -> HttpResponse:
    alarm = get_object_or_404(Alarm, pk=pk)
    try:
        services.alarm_close(
            alarm=alarm, comment=request.POST.get("comment", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Alarme close : %(title)s") % {"title": alarm.title})
    return redirect(_alarm_return(request))


@role_required(*ALARM_HISTORY_READERS)
def alarm_history(request: SignedInRequest) -> HttpResponse:
    """Every alarm, with who acknowledged or closed it, when and why; filtered."""
    found = AlarmFilter(request.GET or None, queryset=selectors.alarms_for(request.user))
    # A bad filter shows its error and no row rather than every alarm.
    alarms = found.queryset.none() if found.is_bound and not found.is_valid() else found.qs
    page = Paginator(alarms, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "operations/alarm_history.html",
        {"form": found.form, "page": page, "query": query.urlencode()},
    )


# --- Shifts and rota ----------------------------------------------------------------------------


@role_required(*ROOM_STAFF)
def shift_list(request: SignedInRequest) -> HttpResponse:
    is_manager = request.user.has_role(*ROOM_MANAGERS)
    now = timezone.now()
    context: dict[str, Any] = {
        "my_shift": selectors.open_shift(request.user),
        "on_duty": selectors.on_duty(),
        "my_shifts": Shift.objects.filter(operator=request.user).select_related("closed_by")[:20],
        "rota": selectors.rota_between(now - timedelta(hours=12), now + timedelta(days=7)),
        "is_manager": is_manager,
        "close_form": ShiftCloseForm(initial={"ended_at": timezone.localtime(now)}),
    }
    if is_manager:
        context["recent"] = Shift.objects.select_related("operator", "closed_by")[:50]
    return render(request, "operations/shifts.html", context)


@require_POST
@role_required(*ROOM_STAFF)
def clock_in(request: SignedInRequest) -> HttpResponse:
    try:
        services.shift_clock_in(operator=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Prise de service enregistrée."))
    return redirect(_safe_next(request) or "operations:shift_list")


def _confirm(request: HttpRequest, **context: Any) -> HttpResponse | None:
    """The confirmation page until the person confirms (a POST with ``confirm``); None then.

    A second, deliberate click without any script: the page's CSP forbids inline handlers."""
    if request.method == "POST" and request.POST.get("confirm") == "1":
        return None
    next_url = _safe_next(request)
    if next_url:
        context["cancel"] = next_url
    return render(
        request, "operations/confirm.html", {"action": request.path, "next": next_url, **context}
    )


@require_http_methods(["GET", "POST"])
@role_required(*ROOM_STAFF)
def clock_out(request: SignedInRequest) -> HttpResponse:
    shift = selectors.open_shift(request.user)
    if shift is not None:
        asked = _confirm(
            request,
            title=_("Fin de service"),
            question=_("Terminer votre vacation maintenant ?"),
            facts=[
                (_("Prise de service"), paris_text(shift.started_at, seconds=False)),
                (_("Fin de service"), paris_text(timezone.now(), seconds=False)),
            ],
            confirm_label=_("Confirmer la fin de service"),
            cancel=reverse("operations:shift_list"),
        )
        if asked is not None:
            return asked
    elif request.method == "GET":  # nothing to confirm: say so where shifts are
        messages.info(request, _("Vous n'êtes pas en service : aucune vacation à clore."))
        return redirect("operations:shift_list")
    try:
        services.shift_clock_out(operator=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Fin de service enregistrée."))
    return redirect(_safe_next(request) or "operations:shift_list")


@role_required(*ROOM_MANAGERS)
def shift_close(request: SignedInRequest, pk: int) -> HttpResponse:
    shift = get_object_or_404(Shift.objects.select_related("operator"), pk=pk)
    form = ShiftCloseForm(
        request.POST or None, initial={"ended_at": timezone.localtime().replace(second=0)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.shift_close_forgotten(
                shift=shift,
                ended_at=form.cleaned_data["ended_at"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Vacation de %(who)s close.") % {"who": shift.operator})
            return redirect("operations:shift_list")
    return render(request, "operations/shift_close.html", {"shift": shift, "form": form})


@role_required(*ROOM_STAFF)
def rota(request: SignedInRequest) -> HttpResponse:
    is_manager = request.user.has_role(*ROOM_MANAGERS)
    form = RotaSlotForm(request.POST or None) if is_manager else None
    if request.method == "POST":
        if form is None:  # not a manager
            raise PermissionDenied
        if form.is_valid():
            try:
                services.rota_slot_add(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Créneau ajouté au planning."))
                return redirect("operations:rota")
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    return render(
        request,
        "operations/rota.html",
        {
            "slots": selectors.rota_between(start, start + timedelta(days=14)),
            "form": form,
            "is_manager": is_manager,
        },
    )


@role_required(*ROOM_MANAGERS)
def rota_generate(request: SignedInRequest) -> HttpResponse:
    """Choose a period, the people and the day's shifts; preview; then create the slots."""
    today = timezone.localdate()
    form = RotaGeneratorForm(
        request.POST or None,
        initial={"first": today + timedelta(days=1), "last": today + timedelta(days=28)},
    )
    plan = None
    if request.method == "POST" and form.is_valid():
        plan = form.cleaned_data["plan"]
        if "create" in request.POST:
            try:
                slots = services.rota_generate(
                    plan=plan, note=form.cleaned_data["note"], actor=request.user
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(n)s créneaux ajoutés au planning du %(first)s au %(last)s.")
                    % {
                        "n": len(slots),
                        "first": plan.first.strftime("%d/%m/%Y"),
                        "last": plan.last.strftime("%d/%m/%Y"),
                    },
                )
                return redirect("operations:rota")
    return render(
        request,
        "operations/rota_generate.html",
        {"form": form, "plan": plan, "table": plan.table() if plan else []},
    )


@require_http_methods(["GET", "POST"])
@role_required(*ROOM_MANAGERS)
def rota_remove(request: SignedInRequest, pk: int) -> HttpResponse:
    slot = get_object_or_404(RotaSlot.objects.select_related("operator"), pk=pk)
    asked = _confirm(
        request,
        title=_("Retirer un créneau du planning"),
        question=_("Retirer ce créneau du planning ?"),
        facts=[
            (_("Personne"), str(slot.operator)),
            (_("Début"), paris_text(slot.starts_at, seconds=False)),
            (_("Fin"), paris_text(slot.ends_at, seconds=False)),
            (_("Remarque"), slot.note or "—"),
        ],
        confirm_label=_("Confirmer le retrait"),
        cancel=reverse("operations:rota"),
    )
    if asked is not None:
        return asked
    services.rota_slot_remove(slot=slot, actor=request.user)
    messages.success(request, _("Créneau retiré du planning."))
    return redirect("operations:rota")


# --- Signalements -------------------------------------------------------------------------------


@role_required(*ROOM_STAFF)
def signalement_list(request: SignedInRequest) -> HttpResponse | StreamingHttpResponse:
    found = SignalementFilter(request.GET or None, queryset=selectors.signalement_list())
    form = found.form
    valid = found.is_valid()
    signalements = found.qs if valid else found.queryset
    if request.GET.get("format") == "csv" and (not found.is_bound or valid):
        return _csv(request, signalements, form.cleaned_data if valid else {})
    page = Paginator(signalements, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "operations/signalement_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _csv(
    request: SignedInRequest, signalements: Any, filters: dict[str, Any]
) -> StreamingHttpResponse:
    rows = list(signalements.prefetch_related("cameras", "alerts")[:CSV_LIMIT])
    services.signalements_exported(
        count=len(rows),
        filters={k: str(v) for k, v in filters.items() if v},
        actor=request.user,
    )
    header = [
        _("Numéro"),
        _("Catégorie"),
        _("Survenu le"),
        _("Lieu"),
        _("Caméras"),
        _("Description"),
        _("Services alertés"),
        _("Suite donnée"),
        _("Auteur"),
        _("Clos le"),
    ]

    def when(moment: Any) -> str:
        return paris_text(moment, seconds=False, empty="")

    def cells():
        for s in rows:
            alerts = " | ".join(
                f"{a.get_service_display()} {when(a.alerted_at)}"
                + (f" → {when(a.arrived_at)}" if a.arrived_at else "")
                for a in s.alerts.all()
            )
            yield [
                s.number,
                s.get_category_display(),
                when(s.occurred_at),
                s.location,
                " ".join(c.code for c in s.cameras.all()),
                s.description,
                alerts,
                s.get_outcome_display(),
                str(s.author),
                when(s.closed_at),
            ]

    response = StreamingHttpResponse(
        csv_stream(header, cells()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="signalements-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


@role_required(*ROOM_STAFF)
def signalement_create(request: SignedInRequest) -> HttpResponse:
    form = QuickSignalementForm(request.POST or None, initial=_initial_from_tile(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signalement = services.signalement_create(
                actor=request.user,
                category=data["category"],
                purpose=data.get("purpose", ""),
                occurred_at=data["occurred_at"],
                location=data["location"],
                description=data["description"],
                cameras=services.cameras_from_codes(data["cameras"]),
                services=data["services"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Signalement %(number)s enregistré.") % {"number": signalement.number}
            )
            if "another" in request.POST:
                return redirect("operations:signalement_create")
            return redirect("operations:signalement_detail", number=signalement.number)
    codes = Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED).values_list("code", "name")
    return render(
        request, "operations/signalement_form.html", {"form": form, "camera_codes": codes}
    )


def _initial_from_tile(request: HttpRequest) -> dict[str, Any]:
    """What a wall tile fills in: ?camera=<code>&at=<picture time, ms since the epoch>.

    The camera and the time the operator saw; an unknown camera or a bad time is left out.
    """
    if request.method != "GET":
        return {}
    initial: dict[str, Any] = {}
    code = request.GET.get("camera", "")
    if code and Camera.objects.filter(code=code).exists():
        initial["cameras"] = code
    try:
        at = datetime.fromtimestamp(int(request.GET.get("at", "")) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return initial
    if abs((timezone.now() - at).total_seconds()) < 86400:
        initial["occurred_at"] = timezone.localtime(at).replace(second=0, microsecond=0)
    return initial


@role_required(*ROOM_STAFF)
def signalement_detail(request: SignedInRequest, number: str) -> HttpResponse:
    signalement = _signalement(number)
    note_form, alert_form, close_form = NoteForm(), ServiceAlertForm(), CloseForm()
    link_form = RequisitionLinkForm()
    may_link = request.user.has_role(*REQUISITION_LINKERS)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("link", "unlink"):
                if not may_link:
                    raise PermissionDenied
                link_form = RequisitionLinkForm(request.POST if action == "link" else None)
                done = _requisition_link_action(request, signalement, action, link_form)
                if done:
                    return redirect("operations:signalement_detail", number=number)
            elif action == "note":
                note_form = NoteForm(request.POST)
                if note_form.is_valid():
                    services.signalement_add_note(
                        signalement=signalement, actor=request.user, **note_form.cleaned_data
                    )
                    messages.success(request, _("Note ajoutée."))
                    return redirect("operations:signalement_detail", number=number)
            elif action == "alert":
                alert_form = ServiceAlertForm(request.POST)
                if alert_form.is_valid():
                    changed = services.signalement_alert_service(
                        signalement=signalement, actor=request.user, **alert_form.cleaned_data
                    )
                    if changed is None:
                        messages.info(request, _("Rien n'a changé : aucune heure nouvelle."))
                    else:
                        messages.success(request, _("Service mis à jour."))
                    return redirect("operations:signalement_detail", number=number)
            elif action == "arrived":
                alert_form = ServiceAlertForm({"service": request.POST.get("service", "")})
                if alert_form.is_valid():
                    alert = services.signalement_service_arrived_now(
                        signalement=signalement,
                        service=alert_form.cleaned_data["service"],
                        actor=request.user,
                    )
                    messages.success(
                        request,
                        _("Arrivée de %(service)s enregistrée à %(at)s.")
                        % {
                            "service": alert.get_service_display(),
                            "at": paris_text(alert.arrived_at, seconds=False),
                        },
                    )
                    return redirect("operations:signalement_detail", number=number)
            elif action == "close":
                close_form = CloseForm(request.POST)
                if close_form.is_valid():
                    services.signalement_close(
                        signalement=signalement, actor=request.user, **close_form.cleaned_data
                    )
                    messages.success(request, _("Signalement clos."))
                    return redirect("operations:signalement_detail", number=number)
            else:
                messages.error(request, _("Action inconnue."))
        except ValidationError as exc:
            form = {
                "note": note_form,
                "alert": alert_form,
                "arrived": alert_form,
                "close": close_form,
                "link": link_form,
                "unlink": link_form,
            }[action]
            add_service_errors(form, exc)
    return render(
        request,
        "operations/signalement_detail.html",
        {
            "s": signalement,
            "note_form": note_form,
            "alert_form": alert_form,
            "close_form": close_form,
            "link_form": link_form,
            "may_link": may_link,
            "requisitions": selectors.signalement_requisitions(signalement, request.user),
        },
    )


def _requisition_link_action(
    request: SignedInRequest, signalement: Signalement, action: str, form: RequisitionLinkForm
) -> bool:
    """Link (by reference) or unlink (by id) a requisition the viewer may see; True when done."""
    if action == "unlink":
        try:
            requisition = selectors.signalement_requisitions(signalement, request.user).get(
                pk=int(request.POST.get("requisition") or 0)
            )
        except (Requisition.DoesNotExist, ValueError):
            raise Http404 from None
        services.requisition_unlink_signalement(
            requisition=requisition, signalement=signalement, actor=request.user
        )
        messages.success(
            request, _("Lien avec la réquisition %(ref)s retiré.") % {"ref": requisition.reference}
        )
        return True
    if not form.is_valid():
        return False
    reference = form.cleaned_data["requisition"].strip()
    try:
        requisition = selectors.requisition_by_reference(request.user, reference)
    except Requisition.DoesNotExist:
        form.add_error(
            "requisition",
            _("Aucune réquisition %(ref)s parmi celles que vous pouvez consulter.")
            % {"ref": reference},
        )
        return False
    services.requisition_link_signalements(
        requisition=requisition, numbers=[signalement.number], actor=request.user
    )
    messages.success(
        request, _("Réquisition %(ref)s liée au signalement.") % {"ref": requisition.reference}
    )
    return True


# --- Statistics ---------------------------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[PeriodForm, stats.Period | None]:
    form = PeriodForm(request.GET if request.GET else None, initial=PeriodForm.default())
    if not form.is_bound:
        default = PeriodForm.default()
        return form, stats.Period(default["start"], default["end"])
    if form.is_valid():
        return form, stats.Period(form.cleaned_data["start"], form.cleaned_data["end"])
    return form, None


@role_required(*STATISTICS_READERS)
def statistics(request: SignedInRequest) -> HttpResponse:
    form, period = _period(request)
    figures = stats.statistics(period) if period else None
    rows = []
    context: dict[str, Any] = {}
    if figures:
        availability = figures["camera_availability"]
        for month, hours in figures["active_hours"]["by_month"].items():
            counts = figures["signalements"]["by_month"][month]
            share = availability["by_month"][month]
            rows.append(
                {
                    "label": reports.month_label(month),
                    "hours": hours,
                    "counts": counts.values(),
                    "total": sum(counts.values()),
                    "availability": share,
                    "availability_pct": None if share is None else 100 * share,
                }
            )
        for camera in availability["cameras"]:
            share = camera["availability"]
            camera["pct"] = None if share is None else 100 * share
        overall = availability["overall"]
        names = reports.requisition_labels()
        context = {
            "requisition_headers": [names[n] for n in stats.REQUISITION_FIGURES],
            "requisition_rows": [
                {
                    "label": reports.month_label(month),
                    "counts": [counts[n] for n in stats.REQUISITION_FIGURES],
                    "median": counts["median_hours_to_handover"],
                }
                for month, counts in figures["requisitions"]["by_month"].items()
            ],
            "requisition_totals": [
                figures["requisitions"]["totals"][n] for n in stats.REQUISITION_FIGURES
            ],
            "overall_pct": None if overall is None else 100 * overall,
            "categories": Category.choices,
            "category_totals": figures["signalements"]["by_category"].values(),
        }
    return render(
        request,
        "operations/statistics.html",
        {
            "form": form,
            "figures": figures,
            "rows": rows,
            "period": period,
            "query": f"start={period.first:%Y-%m-%d}&end={period.last:%Y-%m-%d}" if period else "",
            "year": timezone.localdate().year,
            "years": range(timezone.localdate().year, timezone.localdate().year - 6, -1),
            **context,
        },
    )


@role_required(*STATISTICS_READERS)
def statistics_chart(request: SignedInRequest, name: str) -> HttpResponse:
    if name not in reports.CHARTS:
        raise Http404
    form, period = _period(request)
    if period is None:
        return HttpResponse(
            " ".join(str(m) for errors in form.errors.values() for m in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(reports.chart(name, stats.statistics(period)), content_type="image/png")


@role_required(*STATISTICS_READERS)
def annual_report(request: SignedInRequest, year: int) -> HttpResponse:
    if not 2000 <= year <= timezone.localdate().year:
        raise Http404
    response = HttpResponse(reports.annual_report(year), content_type="application/pdf")
    disposition = content_disposition_header(
        as_attachment=False, filename=f"rapport-activite-csu-{year}.pdf"
    )
    assert disposition is not None  # only a missing file name gives none
    response["Content-Disposition"] = disposition
    return response
