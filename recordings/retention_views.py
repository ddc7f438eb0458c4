"""Pages of the destruction register and of the holds (gel des images)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from cameras.models import Camera
from csu.lib.forms import add_service_errors
from recordings import holds, purge
from recordings.models import DestructionRecord, Hold, KeyEncryptionKey, PurgeRun
from recordings.roles import HOLD_MANAGERS, RETENTION_READERS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PeriodForm(forms.Form):
    camera = forms.ModelChoiceField(
        label=gettext_lazy("caméra"),
        queryset=Camera.objects.order_by("code"),
        to_field_name="code",
        required=False,
    )
    start = forms.DateField(label=gettext_lazy("images du"), required=False, widget=DATE)
    end = forms.DateField(label=gettext_lazy("au (inclus)"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError(_("La fin de la période doit suivre son début."))
        return data

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as aware instants: from the start day's midnight to the end day's next."""
        zone = timezone.get_current_timezone()
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (
            datetime.combine(start, time.min, zone) if start else None,
            datetime.combine(end + timedelta(days=1), time.min, zone) if end else None,
        )


class HoldForm(forms.Form):
    camera = forms.ModelChoiceField(
        label=gettext_lazy("caméra"), queryset=Camera.objects.order_by("code"), to_field_name="code"
    )
    starts_at = forms.DateTimeField(label=gettext_lazy("début"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=gettext_lazy("fin"), widget=DATETIME)
    reason = forms.CharField(label=gettext_lazy("motif"), max_length=300)
    case_reference = forms.CharField(
        label=gettext_lazy("référence de procédure ou de dossier"),
        max_length=100,
        help_text=gettext_lazy(
            "Numéro de procès-verbal, de procédure ou de main courante que ce gel sert."
        ),
    )
    justification = forms.CharField(
        label=gettext_lazy("justification écrite"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Pourquoi ces images doivent survivre à leur durée de conservation."
        ),
    )
    expires_on = forms.DateField(label=gettext_lazy("échéance du gel"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].help_text = _end_help()

    def expires_at(self) -> datetime:
        return _end_of(self.cleaned_data["expires_on"])


def _end_help() -> str:
    return _("Au plus %(days)s jours : au plus tard le %(limit)s, renouvelable ensuite.") % {
        "days": settings.RECORDINGS_HOLD_MAX_DAYS,
        "limit": date_format(timezone.localtime(holds.manual_end_limit()), "d/m/Y H:i"),
    }


def _end_of(day: date) -> datetime:
    """A manual hold's end for the day chosen: that day's end, or the limit if it comes first.
    A day past the limit's gives the day's end, which the service refuses with its reason."""
    end = datetime.combine(day + timedelta(days=1), time.min, timezone.get_current_timezone())
    limit = holds.manual_end_limit()
    return limit if timezone.localdate(limit) == day else end


class RenewForm(forms.Form):
    expires_on = forms.DateField(label=gettext_lazy("nouvelle échéance"), widget=DATE)
    justification = forms.CharField(
        label=gettext_lazy("justification du renouvellement"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Pourquoi ces images doivent rester gelées au-delà de l'échéance."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].help_text = _end_help()

    def expires_at(self) -> datetime:
        return _end_of(self.cleaned_data["expires_on"])


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("motif de la levée"), max_length=300)


# --- Destruction register ----------------------------------------------------------------------


@role_required(*RETENTION_READERS)
def destruction_list(request: SignedInRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    camera, start, end = None, None, None
    if form.is_bound and form.is_valid():
        camera = form.cleaned_data["camera"]
        start, end = form.bounds()
    entries = purge.destructions(camera=camera, start=start, end=end)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    status = (
        purge.footage_status(camera=camera, start=start, end=end)
        if camera and start and end
        else None
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "recordings/retention/destruction_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "status": status,
            "camera": camera,
            "runs": PurgeRun.objects.all()[:10],
            "keks": KeyEncryptionKey.objects.filter(destroyed_at__isnull=False)
            .select_related("run")
            .order_by("-destroyed_at", "-pk")[:20],
        },
    )


@role_required(*RETENTION_READERS)
def destruction_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(DestructionRecord.objects.select_related("camera", "run"), pk=pk)
    return render(request, "recordings/retention/destruction_detail.html", {"entry": entry})


# --- Holds ---------------------------------------------------------------------------------------


@role_required(*RETENTION_READERS)
def hold_list(request: SignedInRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    camera = form.cleaned_data["camera"] if form.is_bound and form.is_valid() else None
    only_active = request.GET.get("tous") != "1"
    page = Paginator(holds.hold_list(camera=camera, only_active=only_active), 50).get_page(
        request.GET.get("page")
    )
    page.object_list = holds.withhold_references(request.user, page.object_list)
    return render(
        request,
        "recordings/retention/hold_list.html",
        {
            "page": page,
            "form": form,
            "only_active": only_active,
            "now": timezone.now(),
            "can_manage": request.user.has_role(*HOLD_MANAGERS),
        },
    )


@role_required(*HOLD_MANAGERS)
def hold_create(request: SignedInRequest) -> HttpResponse:
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hold = holds.hold_place(
                camera=data["camera"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                basis=Hold.Basis.MANUAL,
                reason=data["reason"],
                justification=data["justification"],
                case_reference=data["case_reference"],
                expires_at=form.expires_at(),
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Gel placé : ces images ne seront pas détruites."))
            if hold.footage_note:
                messages.warning(request, hold.footage_note)
            return redirect("retention:hold_detail", pk=hold.pk)
    return render(request, "recordings/retention/hold_form.html", {"form": form})


@role_required(*RETENTION_READERS)
def hold_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    hold = get_object_or_404(Hold.objects.select_related("camera", "created_by"), pk=pk)
    return _detail(request, hold, None)


def _detail_context(
    request: SignedInRequest, hold: Hold, renew_form: RenewForm | None
) -> dict[str, Any]:
    return {
        "hold": hold,
        "active": hold.is_active(),
        "can_release": request.user.has_role(*HOLD_MANAGERS)
        and hold.basis == Hold.Basis.MANUAL
        and hold.released_at is None,
        "can_renew": request.user.has_role(*HOLD_MANAGERS)
        and hold.basis == Hold.Basis.MANUAL
        and hold.is_active(),
        "release_form": ReleaseForm(),
        "renew_form": renew_form or RenewForm(),
        "renewals": [] if hold.reference_withheld else hold.renewals.all(),
    }


def _detail(request: SignedInRequest, hold: Hold, renew_form: RenewForm | None) -> HttpResponse:
    [hold] = holds.withhold_references(request.user, [hold])
    return render(
        request,
        "recordings/retention/hold_detail.html",
        _detail_context(request, hold, renew_form),
    )


@require_POST
@role_required(*HOLD_MANAGERS)
def hold_renew(request: SignedInRequest, pk: int) -> HttpResponse:
    hold = get_object_or_404(Hold.objects.select_related("camera", "created_by"), pk=pk)
    if hold.basis != Hold.Basis.MANUAL:
        messages.error(
            request,
            _("Ce gel suit sa réquisition ou sa demande d'accès : il dure autant qu'elle."),
        )
        return redirect("retention:hold_detail", pk=hold.pk)
    form = RenewForm(request.POST)
    if form.is_valid():
        try:
            holds.hold_renew(
                hold=hold,
                expires_at=form.expires_at(),
                justification=form.cleaned_data["justification"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Gel renouvelé jusqu'au %(end)s.")
                % {"end": date_format(timezone.localtime(hold.expires_at), "d/m/Y H:i")},
            )
            return redirect("retention:hold_detail", pk=hold.pk)
    return _detail(request, hold, form)


@require_POST
@role_required(*HOLD_MANAGERS)
def hold_release(request: SignedInRequest, pk: int) -> HttpResponse:
    hold = get_object_or_404(Hold, pk=pk)
    if hold.basis != Hold.Basis.MANUAL:
        messages.error(
            request,
            _("Ce gel suit sa réquisition ou sa demande d'accès : il se lève avec elle."),
        )
        return redirect("retention:hold_detail", pk=hold.pk)
    form = ReleaseForm(request.POST)
    if form.is_valid():
        try:
            holds.hold_release(hold=hold, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, _("Gel levé : ces images suivent de nouveau la durée de conservation.")
            )
    else:
        messages.error(request, _("Indiquez le motif de la levée."))
    return redirect("retention:hold_detail", pk=hold.pk)
