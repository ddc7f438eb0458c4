"""Pages of the requisition workflow: short views, the rules are in services and selectors."""

from __future__ import annotations

import base64
from typing import Any, Protocol, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from cameras.purposes import Purpose, purpose_label
from csu.lib.forms import add_service_errors
from csu.lib.times import paris_text
from evidence import (
    attachments,
    handover,
    packages,
    related_signalements,
    replay,
    selectors,
    services,
)
from evidence.api import package_response
from evidence.forms import DecisionForm, RequisitionForm, WindowFormSet
from evidence.models import DownloadLink, Requisition, Window
from evidence.roles import (
    ATTACHMENT_READERS,
    DECIDERS,
    EXTRACTION_REGISTER_READERS,
    EXTRACTORS,
    REQUESTERS,
    REQUISITION_READERS,
)


class _Restricted(Protocol):
    """A requisition as ``selectors.restrict`` gives it: with the flag its annotation adds."""

    details_withheld: bool


def _requisition(request: HttpRequest, pk: int) -> Requisition:
    try:
        return selectors.requisition_get(request.user, pk)
    except Requisition.DoesNotExist:
        raise Http404 from None


def _errors(exc: ValidationError) -> list[str]:
    return exc.messages


def _back(pk: int) -> HttpResponse:
    return redirect("evidence:requisition_detail", pk=pk)


@role_required(*REQUISITION_READERS)
def requisition_list(request: SignedInRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "evidence/requisition_list.html",
        {
            "requisitions": selectors.requisition_list(user)[:200],
            "queue": selectors.review_queue(user) if user.role in DECIDERS else None,
            "can_submit": user.role in REQUESTERS,
        },
    )


#: The scan an officer attached to a form that came back with errors (encrypted at rest).
PENDING_SCAN = "evidence.pending_scan"


def _pending_scan(request: HttpRequest) -> dict[str, Any] | None:
    return request.session.get(PENDING_SCAN)


def _keep_scan(request: HttpRequest, name: str, data: bytes) -> None:
    """Hold a valid scan for the form's session: encrypted like every other, key in the session.

    When the session ends unused, its wrapped key goes with it: the file is unreadable.
    """
    try:
        content_type = attachments.check(name, data)
    except ValidationError:
        return
    _drop_scan(request)
    stored = attachments.store(name, data, content_type)
    request.session[PENDING_SCAN] = {
        "name": stored.name,
        "size": stored.size,
        "sha256": stored.sha256,
        "path": stored.path,
        "key_id": stored.key_id,
        "key": base64.b64encode(stored.wrapped_key).decode(),
    }


def _read_scan(pending: dict[str, Any]) -> bytes | None:
    try:
        return attachments.read(
            pending["path"], pending["key_id"], base64.b64decode(pending["key"])
        )
    except (OSError, ValueError, KeyError):
        return None


def _drop_scan(request: HttpRequest) -> None:
    pending = request.session.pop(PENDING_SCAN, None)
    if pending:
        attachments.delete(pending["path"])


@role_required(*REQUESTERS)
def requisition_create(request: SignedInRequest) -> HttpResponse:
    pending = _pending_scan(request) if request.method == "POST" else None
    if request.method == "GET":
        _drop_scan(request)  # a new form starts without the scan of an abandoned one
    form = RequisitionForm(request.POST or None, request.FILES or None, scan_kept=bool(pending))
    windows = WindowFormSet(request.POST or None, prefix="w")
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("attachment")
        if upload is not None:
            # The upload parser keeps only the files sent with a name.
            name, data = upload.name or "", upload.read(settings.EVIDENCE_ATTACHMENT_MAX_BYTES + 1)
        elif pending is not None:
            name, data = pending["name"], _read_scan(pending)
            if data is None:
                _drop_scan(request)
                pending = None
                form = RequisitionForm(request.POST, request.FILES, scan_kept=False)
        else:
            name, data = "", None
        if form.is_valid() and windows.is_valid() and data is not None:
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
                    attachment_name=name,
                    attachment_data=data,
                    windows=requests,
                    actor=request.user,
                    signalements=form.cleaned_data["signalements"],
                    prosecutor_authorization=form.cleaned_data["prosecutor_authorization"],
                )
            except ValidationError as exc:
                for field, messages_ in exc.message_dict.items():
                    if field in form.fields:
                        form.add_error(field, messages_)
                    else:
                        errors.extend(messages_)
            else:
                _drop_scan(request)
                messages.success(
                    request,
                    _("Réquisition %(ref)s déposée ; les images disponibles sont gelées.")
                    % {"ref": requisition.reference},
                )
                return _back(requisition.pk)
        if upload is not None and data is not None:
            _keep_scan(request, name, data)
    return render(
        request,
        "evidence/requisition_form.html",
        {"form": form, "windows": windows, "errors": errors, "kept": _pending_scan(request)},
    )


def _export_purposes(windows: list[Window]) -> list[tuple[str, str]]:
    """The CSI L251-2 purposes an extraction of the approved windows may pursue: those the
    arrêté of every camera lists."""
    cameras = {w.camera_id: w.camera for w in windows if w.decision == Window.Decision.APPROVED}
    allowed = [
        code
        for code in Purpose.values
        if cameras and all(not camera.purpose_refusal(code) for camera in cameras.values())
    ]
    return [(code, purpose_label(code)) for code in allowed]


def _detail(
    request: SignedInRequest,
    requisition: Requisition,
    *,
    decision_form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    if cast(_Restricted, requisition).details_withheld:
        # Seen, not read (selectors.DETAILS_WITHHELD): the reference and the status only.
        return render(request, "evidence/requisition_summary.html", {"requisition": requisition})
    windows = list(requisition.windows.all())
    export = selectors.current_export(requisition)
    is_extractor = user.role in EXTRACTORS
    is_requester = user.role in REQUESTERS
    is_decider = user.role in DECIDERS
    if decision_form is None and is_decider and requisition.is_pending:
        decision_form = DecisionForm(
            windows=windows, authorization_asked=requisition.lacks_prosecutor_authorization
        )
    context: dict[str, Any] = {
        "requisition": requisition,
        "windows": windows,
        "approved_windows": [w for w in windows if w.decision == Window.Decision.APPROVED],
        "refused_windows": [w for w in windows if w.decision == Window.Decision.REFUSED],
        "export": export,
        "timeline": selectors.timeline(requisition),
        "signalements": related_signalements.shown(requisition=requisition, user=user),
        "decision_form": decision_form,
        "is_supervisor": is_extractor,
        "is_officer": is_requester,
        "is_magistrate": is_decider,
        "can_download": selectors.can_download(requisition, user),
        "active_link": selectors.active_link(requisition, user) if is_requester else None,
        "allowed_download": selectors.allowed_download(requisition) if is_extractor else None,
        "handovers": selectors.handovers(requisition),
        "clips": [f for f in export.files if f.get("kind") == "clip"]
        if export is not None and export.state == "ready" and is_extractor
        else [],
        "refresh": export is not None and export.state in ("queued", "running"),
        "replay_links": replay.replay_links(requisition, windows, user) if is_extractor else {},
        "export_purposes": _export_purposes(windows) if is_extractor else [],
    }
    return render(request, "evidence/requisition_detail.html", context, status=status)


@never_cache
@role_required(*REQUISITION_READERS)
def requisition_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    # Opening the file is not examining it: the status moves only when the magistrate says so.
    return _detail(request, _requisition(request, pk))


@require_POST
@role_required(*DECIDERS)
def requisition_review(request: SignedInRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    if services.requisition_open_review(requisition=requisition, actor=request.user):
        messages.success(request, _("Réquisition en cours d'examen."))
    return _back(pk)


@never_cache
@role_required(*ATTACHMENT_READERS)
def requisition_attachment(request: SignedInRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    if requisition.anonymised_at is not None:
        raise Http404(_("La pièce a été détruite à l'issue de sa durée de conservation."))
    data = services.attachment_open(requisition=requisition, actor=request.user)
    response = HttpResponse(data, content_type=requisition.attachment_type)
    disposition = content_disposition_header(
        as_attachment=False, filename=requisition.attachment_name
    )
    assert disposition is not None  # only a missing file name gives none
    response["Content-Disposition"] = disposition
    return response


@require_POST
@role_required(*DECIDERS)
def requisition_decision(request: SignedInRequest, pk: int) -> HttpResponse:
    """A decision error is shown on the form, with what was chosen kept; nothing is recorded."""
    requisition = _requisition(request, pk)
    if not requisition.is_pending:
        messages.error(
            request,
            _(
                "Cette réquisition est à l'état « %(status)s » : elle ne peut plus faire l'objet "
                "d'une décision."
            )
            % {"status": requisition.get_status_display()},
        )
        return _back(pk)
    form = DecisionForm(
        request.POST,
        windows=list(requisition.windows.all()),
        authorization_asked=requisition.lacks_prosecutor_authorization,
    )
    if form.is_valid():
        try:
            services.requisition_decide(
                requisition=requisition,
                outcome=form.cleaned_data["outcome"],
                window_ids=form.cleaned_data["windows"],
                shortened=form.shortened(),
                reason=form.cleaned_data["reason"],
                prosecutor_authorization=form.cleaned_data.get("prosecutor_authorization", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except services.Conflict as exc:
            messages.error(request, str(exc))
            return _back(pk)
        else:
            messages.success(request, _("Décision enregistrée."))
            return _back(pk)
    return _detail(request, requisition, decision_form=form, status=400)


@require_POST
@role_required(*REQUESTERS)
def requisition_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
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
@role_required(*EXTRACTORS)
def export_start(request: SignedInRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        services.export_start(
            requisition=requisition, purpose=request.POST.get("purpose", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    except (PermissionDenied, services.Conflict) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Extraction lancée."))
    return _back(pk)


@require_POST
@role_required(*EXTRACTORS)
def export_release(request: SignedInRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        link = services.export_release(requisition=requisition, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    except services.Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _(
                "Extraction libérée : %(who)s peut la télécharger depuis la page de la "
                "réquisition jusqu'au %(until)s ; il en est averti."
            )
            % {"who": link.recipient, "until": paris_text(link.expires_at)},
        )
    return _back(pk)


@require_POST
@role_required(*EXTRACTORS)
def link_reissue(request: SignedInRequest, pk: int) -> HttpResponse:
    requisition = _requisition(request, pk)
    try:
        link = services.link_reissue(requisition=requisition, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    else:
        messages.success(
            request,
            _("Nouveau téléchargement autorisé pour %(who)s jusqu'au %(until)s.")
            % {"who": link.recipient, "until": paris_text(link.expires_at)},
        )
    return _back(pk)


@never_cache
@require_POST
@role_required(*REQUESTERS)
def download(request: SignedInRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    """The officer downloads the package from his page: the POST is what consumes it."""
    requisition = _requisition(request, pk)
    if not request.user.is_verified():
        raise PermissionDenied
    try:
        export = services.handover_download(requisition=requisition, actor=request.user)
    except services.DownloadRefused as exc:
        # Another officer of the service: forbidden (403); used, expired, none: a 400.
        status = 400 if requisition.officer_id == request.user.pk else 403
        return render(
            request, "evidence/download_refused.html", {"message": str(exc)}, status=status
        )
    return package_response(export)


@never_cache
@role_required(*EXTRACTORS)
def export_clip(request: SignedInRequest, pk: int, index: int) -> StreamingHttpResponse:
    """A prepared clip, as the officer will receive it (masks burnt in), played before release."""
    requisition = _requisition(request, pk)
    try:
        export, path = services.export_clip_open(
            requisition=requisition, index=index, actor=request.user
        )
    except ValidationError:
        raise Http404 from None
    response = StreamingHttpResponse(packages.clip_stream(export, path), content_type="video/mp4")
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "no-store, private"
    return response


@never_cache
@role_required(*REQUISITION_READERS)
def handover_record(request: SignedInRequest, pk: int, link_pk: int) -> HttpResponse:
    """The procès-verbal de remise of one download (reading it consumes nothing)."""
    requisition = _requisition(request, pk)
    link = selectors.handover_get(requisition, link_pk)
    if link is None or link.handover_record is None:  # the selector finds only recorded ones
        raise Http404
    response = HttpResponse(bytes(link.handover_record), content_type="application/pdf")
    disposition = content_disposition_header(
        as_attachment=False, filename=handover.record_name(link)
    )
    assert disposition is not None  # only a missing file name gives none
    response["Content-Disposition"] = disposition
    return response


@never_cache
@role_required(*REQUISITION_READERS)
def handover_record_signature(request: SignedInRequest, pk: int, link_pk: int) -> HttpResponse:
    """The procès-verbal's detached Ed25519 signature (base64), as verify.py --document reads it."""
    requisition = _requisition(request, pk)
    link = selectors.handover_get(requisition, link_pk)
    if link is None or not link.handover_record_signature:
        raise Http404
    response = HttpResponse(
        link.handover_record_signature + "\n", content_type="text/plain; charset=us-ascii"
    )
    disposition = content_disposition_header(
        as_attachment=True, filename=handover.record_name(link) + ".sig"
    )
    assert disposition is not None
    response["Content-Disposition"] = disposition
    return response


@role_required(*EXTRACTION_REGISTER_READERS)
def registers(request: SignedInRequest) -> HttpResponse:
    return render(
        request,
        "evidence/registers.html",
        {
            "extractions": selectors.extraction_register()[:500],
            "handovers": [
                _with_signature_state(link) for link in selectors.handover_register()[:500]
            ],
        },
    )


def _with_signature_state(link: DownloadLink) -> DownloadLink:
    link.signature_state = selectors.handover_signature(link)  # type: ignore[attr-defined]
    return link
