"""The administrator's pages: people, habilitations, communes and their conventions. The DPO
reads them; only admins change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from accounts.filters import HabilitationFilter, UserFilter
from accounts.forms import (
    AgreementForm,
    CommuneForm,
    HabilitationCreateForm,
    HabilitationForm,
    PasswordSetForm,
    ReasonForm,
    TrainingForm,
    UserCreateForm,
    UserForm,
)
from accounts.models import Agreement, Commune, Habilitation, User
from accounts.roles import COMMUNE_MANAGERS, COMMUNE_READERS, PEOPLE_MANAGERS, PEOPLE_READERS
from csu.lib.forms import add_service_errors

PAGE_SIZE = 50


def _page(request: HttpRequest, items: QuerySet[Any]) -> tuple[Page[Any], str]:
    """The requested page, and the query string without the page number for the links."""
    query = request.GET.copy()
    query.pop("page", None)
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page")), query.urlencode()


# --- People -------------------------------------------------------------------------------------


@role_required(*PEOPLE_READERS)
def user_list(request: SignedInRequest) -> HttpResponse:
    found = UserFilter(request.GET or None, queryset=selectors.user_list(day=timezone.localdate()))
    page, query = _page(request, found.qs if found.is_valid() else found.queryset)
    return render(
        request,
        "accounts/user_list.html",
        {"form": found.form, "page": page, "query": query, "can_manage": _manages(request)},
    )


@role_required(*PEOPLE_READERS)
def user_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User.objects.select_related("service"), pk=pk)
    today = timezone.localdate()
    return render(
        request,
        "accounts/user_detail.html",
        {
            "account": account,
            "habilitations": [
                (h, h.state_on(today))
                for h in account.habilitations.select_related("user")
                .prefetch_related("user__trainings")
                .order_by("-valid_until", "-id")
            ],
            "second_factor": selectors.second_factor_state(account),
            "history": selectors.user_history(account),
            "can_manage": _manages(request),
        },
    )


@role_required(*PEOPLE_MANAGERS)
def user_create(request: SignedInRequest) -> HttpResponse:
    form = UserCreateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            account = services.user_create(
                password=form.cleaned_data["password1"], actor=request.user, **form.changes()
            )
        except ValidationError as error:
            add_service_errors(form, error, fallback="password1")
        else:
            messages.success(request, _("Compte %(name)s créé.") % {"name": account.username})
            return redirect("accounts:user_detail", pk=account.pk)
    return render(request, "accounts/user_form.html", {"form": form, "account": None})


@role_required(*PEOPLE_MANAGERS)
def user_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    initial = {name: getattr(account, name) for name in UserForm.base_fields}
    form = UserForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(user=account, actor=request.user, **form.changes())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Compte %(name)s modifié.") % {"name": account.username})
            return redirect("accounts:user_detail", pk=account.pk)
    return render(request, "accounts/user_form.html", {"form": form, "account": account})


@role_required(*PEOPLE_MANAGERS)
@require_POST
def user_set_active(request: SignedInRequest, pk: int, active: bool) -> HttpResponse:
    """Deactivate (or reactivate) an account; accounts are never deleted."""
    account = get_object_or_404(User, pk=pk)
    if account.is_active != active:
        try:
            services.user_update(user=account, actor=request.user, is_active=active)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                (_("Compte %(name)s réactivé.") if active else _("Compte %(name)s désactivé."))
                % {"name": account.username},
            )
    return redirect("accounts:user_detail", pk=account.pk)


@role_required(*PEOPLE_MANAGERS)
def second_factor_reset(request: SignedInRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.second_factor_reset(
                user=account, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Second facteur de %(name)s réinitialisé : un nouvel enrôlement sera demandé.")
                % {"name": account.username},
            )
            return redirect("accounts:user_detail", pk=account.pk)
    return render(
        request,
        "accounts/second_factor_reset.html",
        {"form": form, "account": account, "second_factor": selectors.second_factor_state(account)},
    )


@role_required(*PEOPLE_MANAGERS)
def training_create(request: SignedInRequest, pk: int) -> HttpResponse:
    """Record a training the person followed (CSI L255-1): it renews all their habilitations."""
    account = get_object_or_404(User, pk=pk)
    form = TrainingForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.training_record(user=account, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Formation de %(name)s enregistrée.") % {"name": account.username}
            )
            return redirect("accounts:user_detail", pk=account.pk)
    return render(request, "accounts/training_form.html", {"form": form, "account": account})


@role_required(*PEOPLE_READERS)
def training_list(request: SignedInRequest) -> HttpResponse:
    """The trainings to renew (CSI L255-1): lapsed, lapsing soon, or never recorded, of the
    people who hold a habilitation; without one in force the person sees no image."""
    return render(
        request,
        "accounts/training_list.html",
        {
            "rows": selectors.trainings_to_renew(day=timezone.localdate()),
            "validity_days": settings.TRAINING_VALIDITY_DAYS,
            "reminder_days": settings.TRAINING_REMINDER_DAYS,
            "required": settings.TRAINING_REQUIRED,
            "can_manage": _manages(request),
        },
    )


@role_required(*PEOPLE_MANAGERS)
def user_password_reset(request: SignedInRequest, pk: int) -> HttpResponse:
    """A temporary password for someone who lost theirs; they must replace it at next sign-in."""
    account = get_object_or_404(User, pk=pk)
    form = PasswordSetForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(
                user=account, password=form.cleaned_data["password1"], actor=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error, fallback="password1")
        else:
            messages.success(
                request,
                _(
                    "Mot de passe provisoire de %(name)s enregistré : il devra le changer à sa "
                    "prochaine connexion."
                )
                % {"name": account.username},
            )
            return redirect("accounts:user_detail", pk=account.pk)
    return render(request, "accounts/password_reset.html", {"form": form, "account": account})


# --- Habilitations ------------------------------------------------------------------------------


@role_required(*PEOPLE_READERS)
def habilitation_list(request: SignedInRequest) -> HttpResponse:
    found = HabilitationFilter(request.GET or None, queryset=selectors.habilitation_list())
    today = timezone.localdate()
    page, query = _page(request, found.qs if found.is_valid() else found.queryset)
    rows = [(h, h.state_on(today)) for h in page.object_list]
    return render(
        request,
        "accounts/habilitation_list.html",
        {
            "form": found.form,
            "page": page,
            "rows": rows,
            "query": query,
            "can_manage": _manages(request),
        },
    )


@role_required(*PEOPLE_READERS)
def habilitation_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    habilitation = get_object_or_404(Habilitation.objects.select_related("user", "commune"), pk=pk)
    return render(
        request,
        "accounts/habilitation_detail.html",
        {
            "habilitation": habilitation,
            "state": habilitation.state,
            "history": selectors.habilitation_history(habilitation),
            "can_manage": _manages(request),
        },
    )


@role_required(*PEOPLE_MANAGERS)
def habilitation_create(request: SignedInRequest) -> HttpResponse:
    initial = {"valid_from": timezone.localdate(), "user": request.GET.get("user")}
    form = HabilitationCreateForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            habilitation = services.habilitation_create(actor=request.user, **form.changes())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Habilitation %(ref)s délivrée.") % {"ref": habilitation.decision_reference},
            )
            return redirect("accounts:habilitation_detail", pk=habilitation.pk)
    return render(request, "accounts/habilitation_form.html", {"form": form, "habilitation": None})


@role_required(*PEOPLE_MANAGERS)
def habilitation_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    habilitation = get_object_or_404(Habilitation.objects.select_related("user"), pk=pk)
    if habilitation.revoked_at:
        messages.error(request, _("Une habilitation retirée ne peut plus être modifiée."))
        return redirect("accounts:habilitation_detail", pk=habilitation.pk)
    form = HabilitationForm(
        _posted(request),
        initial=HabilitationForm.initial_from(habilitation),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.habilitation_update(
                habilitation=habilitation, actor=request.user, **form.changes()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Habilitation %(ref)s modifiée.") % {"ref": habilitation.decision_reference},
            )
            return redirect("accounts:habilitation_detail", pk=habilitation.pk)
    return render(
        request,
        "accounts/habilitation_form.html",
        {"form": form, "habilitation": habilitation},
    )


@role_required(*PEOPLE_MANAGERS)
def habilitation_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    habilitation = get_object_or_404(Habilitation.objects.select_related("user"), pk=pk)
    if habilitation.revoked_at:
        messages.error(request, _("Cette habilitation est déjà retirée."))
        return redirect("accounts:habilitation_detail", pk=habilitation.pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.habilitation_revoke(
                habilitation=habilitation, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Habilitation %(ref)s retirée.") % {"ref": habilitation.decision_reference},
            )
            return redirect("accounts:habilitation_detail", pk=habilitation.pk)
    return render(
        request,
        "accounts/habilitation_revoke.html",
        {"form": form, "habilitation": habilitation},
    )


# --- Communes and intercommunal conventions -----------------------------------------------------


@role_required(*COMMUNE_READERS)
def commune_list(request: SignedInRequest) -> HttpResponse:
    """The communes the CSU serves and the conventions that open one's cameras to another's
    agents (CC 2021-817 DC)."""
    now = timezone.now()
    return render(
        request,
        "accounts/commune_list.html",
        {
            "communes": selectors.commune_list(),
            "agreements": [(a, a.state_at(now)) for a in selectors.agreement_list()],
            "can_manage": request.user.has_role(*COMMUNE_MANAGERS),
        },
    )


@role_required(*COMMUNE_MANAGERS)
def commune_create(request: SignedInRequest) -> HttpResponse:
    form = CommuneForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            commune = services.commune_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Commune %(name)s enregistrée.") % {"name": commune})
            return redirect("accounts:commune_list")
    return render(request, "accounts/commune_form.html", {"form": form, "commune": None})


@role_required(*COMMUNE_MANAGERS)
def commune_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    commune = get_object_or_404(Commune, pk=pk)
    form = CommuneForm(
        _posted(request), initial={"name": commune.name, "insee_code": commune.insee_code}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.commune_update(commune=commune, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Commune %(name)s modifiée.") % {"name": commune})
            return redirect("accounts:commune_list")
    return render(request, "accounts/commune_form.html", {"form": form, "commune": commune})


@role_required(*COMMUNE_MANAGERS)
def agreement_create(request: SignedInRequest) -> HttpResponse:
    form = AgreementForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            agreement = services.agreement_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Convention %(ref)s enregistrée.") % {"ref": agreement.reference}
            )
            return redirect("accounts:agreement_detail", pk=agreement.pk)
    return render(request, "accounts/agreement_form.html", {"form": form})


@role_required(*COMMUNE_READERS)
def agreement_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    agreement = get_object_or_404(selectors.agreement_list(), pk=pk)
    return render(
        request,
        "accounts/agreement_detail.html",
        {
            "agreement": agreement,
            "state": agreement.state_at(timezone.now()),
            "history": selectors.agreement_history(agreement),
            "can_manage": request.user.has_role(*COMMUNE_MANAGERS),
        },
    )


@role_required(*COMMUNE_MANAGERS)
def agreement_end(request: SignedInRequest, pk: int) -> HttpResponse:
    agreement = get_object_or_404(Agreement, pk=pk)
    if agreement.ended_at:
        messages.error(request, _("Cette convention a déjà pris fin."))
        return redirect("accounts:agreement_detail", pk=agreement.pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.agreement_end(
                agreement=agreement, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("Convention %(ref)s terminée.") % {"ref": agreement.reference}
            )
            return redirect("accounts:agreement_detail", pk=agreement.pk)
    return render(request, "accounts/agreement_end.html", {"form": form, "agreement": agreement})


def _manages(request: SignedInRequest) -> bool:
    return request.user.has_role(*PEOPLE_MANAGERS)


def _posted(request: HttpRequest):
    """The submitted data, bound even when empty (an empty POST must show its errors)."""
    return request.POST if request.method == "POST" else None
