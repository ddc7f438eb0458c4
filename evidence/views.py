"""Pages of the requisition workflow: short views, the rules are in services and selectors."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.roles import Role
from evidence import links, selectors, services
from evidence.api import package_response
from evidence.forms import DecisionForm, RequisitionForm, WindowFormSet
from evidence.models import Requisition


def _requisition(request: HttpRequest, pk: int) -> Requisition:
    try:
        return selectors.requisition_get(request.user, pk)
    except Requisition.DoesNotExist:
        raise Http404 from None


def _errors(exc: ValidationError) -> list[str]:
    return exc.messages


def _back(pk: int) -> HttpResponse:
    return redirect("evidence:requisition_detail", pk=pk)


@role_required(*selectors.READERS)
def requisition_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "evidence/requisition_list.html",
        {
            "requisitions": selectors.requisition_list(user)[:200],
            "queue": selectors.review_queue(user) if user.role == Role.MAGISTRATE else None,
            "can_submit": user.role == Role.OPJ,
        },
    )


@role_required(Role.OPJ)
def requisition_create(request: HttpRequest) -> HttpResponse:
    form = RequisitionForm(request.POST or None, request.FILES or None)
    windows = WindowFormSet(request.POST or None, prefix="w")
    errors: list[str] = []
    if request.method == "POST" and form.is_valid() and windows.is_valid():
        upload = form.cleaned_data["attachment"]
        requests = [
            services.WindowRequest(w["camera"], w["starts_at"], w["ends_at"])
            for w in windows.cleaned_data
            if w.get("camera")
        ]
        try:
            requisition = services.requisition_submit(
                procedure_number=form.cleaned_data["procedure_number"],
                legal_frame=form.cleaned_data["legal_frame"],
                facts=form.cleaned_data["facts"],
                justification=form.cleaned_data["justification"],
                attachment_name=upload.name,
                attachment_data=upload.read(settings.EVIDENCE_ATTACHMENT_MAX_BYTES + 1),
                windows=requests,
                actor=request.user,
                signalements=form.cleaned_data["signalements"],
            )
        except ValidationError as exc:
            for name, messages_ in exc.message_dict.items():
                if name in form.fields:
                    form.add_error(name, messages_)
                else:
                    errors.extend(messages_)
        else:
            messages.success(
                request,
                _("Réquisition %(ref)s déposée ; les images disponibles sont gelées.")
                % {"ref": requisition.reference},
            )
            return _back(requisition.pk)
    return render(
        request,
        "evidence/requisition_form.html",
        {"form": form, "windows": windows, "errors": errors},
    )


@never_cache
@role_required(*selectors.READERS)
def requisition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    user = request.user
    if requisition.details_withheld:
        # Seen, not read (selectors.DETAILS_WITHHELD): the reference and the status only.
        return render(request, "evidence/requisition_summary.html", {"requisition": requisition})
    if user.role == Role.MAGISTRATE:
        services.requisition_open_review(requisition=requisition, actor=user)
    windows = list(requisition.windows.all())
    export = selectors.current_export(requisition)
    context: dict[str, Any] = {
        "requisition": requisition,
        "windows": windows,
        "export": export,
        "timeline": selectors.timeline(requisition),
        "signalements": links.shown(requisition=requisition, user=user),
        "decision_form": DecisionForm(windows=windows)
        if user.role == Role.MAGISTRATE and requisition.is_pending
        else None,
        "is_supervisor": user.role == Role.SUPERVISOR,
        "is_officer": user.role == Role.OPJ,
        "active_link": selectors.active_link(requisition, user) if user.role == Role.OPJ else None,
        "refresh": export is not None and export.state in ("queued", "running"),
    }
    return render(request, "evidence/requisition_detail.html", context)


@never_cache
@role_required(Role.OPJ, Role.MAGISTRATE)
def requisition_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    data = services.attachment_open(requisition=requisition, actor=request.user)
    response = HttpResponse(data, content_type=requisition.attachment_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=requisition.attachment_name
    )
    return response


@require_POST
@role_required(Role.MAGISTRATE)
def requisition_decision(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    form = DecisionForm(request.POST, windows=requisition.windows.all())
    if not form.is_valid():
        messages.error(request, _("Choisissez une décision."))
        return _back(pk)
    try:
        services.requisition_decide(
            requisition=requisition,
            outcome=form.cleaned_data["outcome"],
            window_ids=form.cleaned_data["windows"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except (ValidationError, services.Conflict) as exc:
        messages.error(
            request, " ".join(_errors(exc)) if isinstance(exc, ValidationError) else str(exc)
        )
    else:
        messages.success(request, _("Décision enregistrée."))
    return _back(pk)


@require_POST
@role_required(Role.OPJ)
def requisition_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        services.requisition_cancel(
            requisition=requisition, reason=request.POST.get("reason", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    else:
        messages.success(request, _("Réquisition annulée ; le gel des images est levé."))
    return _back(pk)


@require_POST
@role_required(Role.SUPERVISOR)
def export_start(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        services.export_start(requisition=requisition, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    except (PermissionDenied, services.Conflict) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Extraction lancée."))
    return _back(pk)


def _show_link(request: HttpRequest, token: str, link: Any) -> None:
    url = request.build_absolute_uri(reverse("evidence:download", args=[token]))
    messages.success(
        request,
        _(
            "Lien à usage unique pour %(who)s, valable jusqu'au %(until)s : %(url)s — il ne sera "
            "plus affiché ; transmettez-le à l'officier."
        )
        % {"who": link.recipient, "until": link.expires_at.strftime("%d/%m/%Y %H:%M"), "url": url},
    )


@require_POST
@role_required(Role.SUPERVISOR)
def export_release(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        link, token = services.export_release(requisition=requisition, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    except services.Conflict as exc:
        messages.error(request, str(exc))
    else:
        _show_link(request, token, link)
    return _back(pk)


@require_POST
@role_required(Role.SUPERVISOR)
def link_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        link, token = services.link_reissue(requisition=requisition, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    else:
        _show_link(request, token, link)
    return _back(pk)


@never_cache
@role_required(Role.OPJ)
def download(request: HttpRequest, token: str) -> HttpResponse:
    link = services.link_find(token)
    if link is None:
        raise Http404
    try:
        export = services.link_use(link=link, actor=request.user)
    except services.DownloadRefused as exc:
        # Another officer's link is forbidden to them (403); a used or expired one is a 400.
        status = 403 if link.recipient_id != request.user.pk else 400
        return render(
            request, "evidence/download_refused.html", {"message": str(exc)}, status=status
        )
    return package_response(export)


@role_required(*selectors.REGISTER_READERS)
def registers(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "evidence/registers.html",
        {
            "extractions": selectors.extraction_register()[:500],
            "handovers": selectors.handover_register()[:500],
        },
    )
