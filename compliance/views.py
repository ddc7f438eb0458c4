from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import access
from accounts.actors import SignedInRequest
from accounts.decorators import role_required
from accounts.roles import Right
from audit.services import record
from cameras.map import public_map_data
from cameras.models import Camera, CameraStatus
from compliance import aipd, breaches, extract, notice, pack, processing, selectors, services
from compliance.areas import kept_percent
from compliance.forms import (
    AccessRequestForm,
    AnswerForm,
    AuditPackForm,
    BreachCloseForm,
    BreachDecisionForm,
    BreachForm,
    ExtractForm,
    ImpactAssessmentForm,
    PeriodForm,
    ProcessingRecordPublishForm,
)
from compliance.models import (
    AccessRequest,
    AccessRequestCamera,
    Breach,
    ImpactAssessment,
    ProcessingRecordVersion,
)
from compliance.registers import REGISTERS, as_csv, local
from compliance.roles import (
    BREACH_KEEPERS,
    COMPLIANCE_READERS,
    EXTRACT_BUILDERS,
    REQUEST_ANSWERERS,
    REQUEST_HANDLERS,
)
from compliance.schedule import days_text, retention_schedule
from csu.lib import legal, pdf
from csu.lib.editor import editor_text
from csu.lib.forms import add_service_errors
from evidence import manifest
from evidence.services import DownloadRefused


@role_required(*COMPLIANCE_READERS)
def index(request: SignedInRequest) -> HttpResponse:
    return render(
        request,
        "compliance/index.html",
        {
            "registers": REGISTERS.values(),
            "pack_form": AuditPackForm(),
            "record_latest": processing.latest(),
            "record_differs": processing.differs_from_latest(),
            "aipd_state": aipd.review_state(),
        },
    )


@role_required(*COMPLIANCE_READERS)
def register(request: SignedInRequest, slug: str) -> HttpResponse:
    entry = REGISTERS.get(slug)
    if entry is None:
        raise Http404
    form = PeriodForm(request.GET or None)
    start = end = None
    if form.is_bound and form.is_valid():
        start, end = form.bounds()
    rows = entry.rows(start, end) if not form.errors else []
    output = request.GET.get("format", "")
    period = (
        _("du %(start)s au %(end)s") % {"start": local(start) or "…", "end": local(end) or "…"}
        if entry.dated
        else _("état au %(date)s") % {"date": local(timezone.now())}
    )
    if output in ("csv", "pdf"):
        with transaction.atomic():
            record(
                "compliance.register_exported",
                actor=request.user,
                target_type="compliance.register",
                target_id=slug,
                target_label=str(entry.title),
                details={"format": output, "start": start, "end": end, "rows": len(rows)},
            )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        if output == "csv":
            response = HttpResponse(as_csv(entry, rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = content_disposition_header(
                as_attachment=True, filename=f"{slug}-{stamp}.csv"
            )
            return response
        body = pdf.table_document(
            str(entry.title),
            [
                _("Période : %(period)s.") % {"period": period},
                ngettext(
                    "Produit par %(who)s ; %(n)s entrée.",
                    "Produit par %(who)s ; %(n)s entrées.",
                    len(rows),
                )
                % {"who": request.user.get_username(), "n": len(rows)},
            ],
            [str(c) for c in entry.columns],
            rows,
        )
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{slug}-{stamp}.pdf"
        )
        return response
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "compliance/register.html",
        {
            "register": entry,
            "rows": rows[:1000],
            "total": len(rows),
            "form": form,
            "period": period,
            "query": query.urlencode(),
        },
    )


@role_required(*COMPLIANCE_READERS)
def audit_pack(request: SignedInRequest) -> HttpResponse:
    form = AuditPackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        start, end = form.bounds()
        assert start and end
        name, data = pack.build(start=start, end=end, actor=request.user)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{name}"
        )
        return response
    return render(request, "compliance/audit_pack.html", {"form": form})


# --- Access requests ---------------------------------------------------------------------------


@role_required(*REQUEST_HANDLERS)
def request_list(request: SignedInRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in AccessRequest.Status.values:
        status = ""
    return render(
        request,
        "compliance/request_list.html",
        {
            "requests": selectors.request_list(request.user, status=status)[:500],
            "status": status,
            "statuses": AccessRequest.Status.choices,
            "can_register": request.user.has_role(*REQUEST_ANSWERERS),
        },
    )


@role_required(*REQUEST_ANSWERERS)
def request_create(request: SignedInRequest) -> HttpResponse:
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.access_request_create(
                requester_last_name=data["requester_last_name"],
                requester_first_name=data["requester_first_name"],
                requester_birth_date=data["requester_birth_date"],
                requester_email=data["requester_email"],
                requester_address=data["requester_address"],
                identity_document=data["identity_document"],
                identity_document_ref=data["identity_document_ref"],
                description=data["description"],
                place=data["place"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                cameras=list(data["cameras"]),
                actor=request.user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Demande %(ref)s enregistrée ; réponse due le %(date)s.")
                % {"ref": created.reference, "date": local(created.deadline)},
            )
            return redirect("compliance:request_detail", pk=created.pk)
    return render(request, "compliance/request_form.html", {"form": form})


def _request(user, pk: int) -> AccessRequest:
    try:
        return selectors.restrict(user).get(pk=pk)
    except AccessRequest.DoesNotExist:
        raise Http404 from None


@role_required(*REQUEST_HANDLERS)
def request_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    access_request = _request(request.user, pk)
    with transaction.atomic():
        record(
            "access_request.viewed",
            actor=request.user,
            target=access_request,
            target_label=access_request.reference,
        )
    footage = list(
        access_request.footage.select_related(
            "camera",
            "hold",
            "destruction",
            "extract_built_by",
            "extract_released_by",
            "extract_handed_over_by",
        )
    )
    is_dpo = request.user.has_role(*REQUEST_ANSWERERS)
    may_build = request.user.has_role(*EXTRACT_BUILDERS)
    for row in footage:
        row.may_extract = may_build and access.may(request.user, Right.EXTRACT, row.camera)
        row.kept_percent = kept_percent(row.keep_areas) if row.keep_areas else None
    return render(
        request,
        "compliance/request_detail.html",
        {
            "access_request": access_request,
            "footage": footage,
            "is_dpo": is_dpo,
            "max_kept_percent": settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT,
            "answer_form": AnswerForm(),
        },
    )


@require_POST
@role_required(*REQUEST_ANSWERERS)
def request_answer(request: SignedInRequest, pk: int) -> HttpResponse:
    access_request = _request(request.user, pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
        return redirect("compliance:request_detail", pk=pk)
    data = form.cleaned_data
    try:
        if data["answer"] == "destroyed":
            services.access_request_answer_destroyed(
                request=access_request, actor=request.user, note=data["note"]
            )
        elif data["answer"] == "extract":
            services.access_request_answer_extract(
                request=access_request, actor=request.user, note=data["note"]
            )
        else:
            services.access_request_refuse(
                request=access_request,
                reason=data["refusal_reason"],
                actor=request.user,
                note=data["note"],
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Réponse enregistrée."))
    return redirect("compliance:request_detail", pk=pk)


def _footage(user, pk: int, camera: str, *, right: str | None = None) -> AccessRequestCamera:
    """The request's camera row; 403 without ``right`` on that camera."""
    access_request = _request(user, pk)
    row = get_object_or_404(
        AccessRequestCamera.objects.select_related("camera", "request"),
        request=access_request,
        camera__code=camera,
    )
    if right is not None:
        decision = access.decide(user, right, row.camera)
        if not decision:
            raise PermissionDenied(decision.reason)
    return row


def _show_errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _areas_page(
    request: SignedInRequest, row: AccessRequestCamera, form: ExtractForm, *, status: int = 200
) -> HttpResponse:
    access_request = row.request
    duration = (access_request.ends_at - access_request.starts_at).total_seconds()
    return render(
        request,
        "compliance/extract_areas.html",
        {
            "access_request": access_request,
            "footage": row,
            "form": form,
            "duration": round(duration, 3),
            "starts_at_ms": round(access_request.starts_at.timestamp() * 1000),
            "max_kept_percent": settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT,
            "editor_text": editor_text(areas=True),
            "areas": {
                "keep": form.data.get("keep_areas") if form.is_bound else row.keep_areas,
                "blur": form.data.get("blur_areas") if form.is_bound else row.blur_areas,
            },
        },
        status=status,
    )


@role_required(*EXTRACT_BUILDERS)
def extract_areas(request: SignedInRequest, pk: int, camera: str) -> HttpResponse:
    """The editor drawing the kept and blurred areas on the recorded pictures, in time."""
    row = _footage(request.user, pk, camera, right=Right.EXTRACT)
    if row.request.status != AccessRequest.Status.OPEN or row.extract_released_at or not row.hold:
        messages.error(request, _("L'extrait de cette caméra ne peut plus être préparé."))
        return redirect("compliance:request_detail", pk=pk)
    return _areas_page(request, row, ExtractForm())


@never_cache
@role_required(*EXTRACT_BUILDERS)
def extract_frame(request: SignedInRequest, pk: int, camera: str) -> HttpResponse:
    """The recorded picture ``?t=`` seconds into the request's period, masks burnt in (JPEG)."""
    row = _footage(request.user, pk, camera, right=Right.EXTRACT)
    try:
        t = float(request.GET.get("t", "0"))
        if not math.isfinite(t):
            raise ValueError(t)
    except ValueError:
        return HttpResponse(
            _("L'instant « t » est un nombre de secondes depuis le début de la période."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        data = extract.extract_frame(footage=row, t=t, actor=request.user)
    except ValidationError as exc:
        return HttpResponse(
            " ".join(exc.messages), status=404, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(data, content_type="image/jpeg")


@require_POST
@role_required(*EXTRACT_BUILDERS)
def extract_build(request: SignedInRequest, pk: int, camera: str) -> HttpResponse:
    row = _footage(request.user, pk, camera, right=Right.EXTRACT)
    form = ExtractForm(request.POST)
    # Sent from the editor: a refusal shows the drawing again, not lost, with the reason.
    from_editor = "editor" in request.POST
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, str(message))
        if from_editor:
            return _areas_page(request, row, form, status=400)
        return redirect("compliance:request_detail", pk=pk)
    try:
        extract.extract_build(
            footage=row,
            keep_areas=form.cleaned_data["keep_areas"],
            blur_areas=form.cleaned_data["blur_areas"],
            actor=request.user,
        )
    except ValidationError as exc:
        _show_errors(request, exc)
        if from_editor:
            return _areas_page(request, row, form, status=400)
    else:
        messages.success(
            request,
            _(
                "Extrait flouté de la caméra %(camera)s prêt ; le délégué à la protection des "
                "données doit le valider avant sa remise."
            )
            % {"camera": camera},
        )
    return redirect("compliance:request_detail", pk=pk)


@require_POST
@role_required(*REQUEST_ANSWERERS)
def extract_release(request: SignedInRequest, pk: int, camera: str) -> HttpResponse:
    row = _footage(request.user, pk, camera)
    try:
        services.extract_release(footage=row, actor=request.user)
    except ValidationError as exc:
        _show_errors(request, exc)
    else:
        messages.success(
            request,
            _(
                "Extrait de la caméra %(camera)s validé : le chef de salle peut le télécharger "
                "une fois pour le remettre au demandeur."
            )
            % {"camera": camera},
        )
    return redirect("compliance:request_detail", pk=pk)


@never_cache
@role_required(*EXTRACT_BUILDERS)
def extract_download(
    request: SignedInRequest, pk: int, camera: str
) -> HttpResponse | StreamingHttpResponse:
    row = _footage(request.user, pk, camera, right=Right.EXTRACT)
    if not row.extract_sha256:
        raise Http404
    try:
        row = services.extract_hand_over(footage=row, actor=request.user)
        # Opened at once: the answer may destroy the file right after the handover is granted.
        stream = extract.extract_stream(row)
    except (DownloadRefused, FileNotFoundError) as exc:
        message = (
            str(exc)
            if isinstance(exc, DownloadRefused)
            else _("Cet extrait a été détruit après la réponse à la demande.")
        )
        return render(
            request,
            "compliance/extract_refused.html",
            {"message": message, "access_request": row.request},
            status=400,
        )
    response = StreamingHttpResponse(stream, content_type="video/mp4")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{row.request.reference}-{row.camera.code}.mp4"
    )
    return response


# --- Public notice -----------------------------------------------------------------------------


def public_notice(request: HttpRequest) -> HttpResponse:
    """The second level of the signs: who films, why, how long, which rights (public, in the
    visitor's chosen language), built from the authorizations in force and their cameras."""
    today = timezone.localdate()
    in_force = notice.authorizations_in_force(today)
    camera_map = public_map_data(today)
    return render(
        request,
        "compliance/public_notice.html",
        {
            "notice": settings.COMPLIANCE_NOTICE,
            "camera_map": camera_map,
            "authorizations": in_force,
            "camera_count": sum(a.camera_count for a in in_force),
            "police_relay": Camera.objects.filter(police_relay=True)
            .exclude(status=CameraStatus.DECOMMISSIONED)
            .exists(),
            "schedule": [line for line in retention_schedule() if line.group != "journal"],
            "audit_min": days_text(min(settings.AUDIT_RETENTION_DAYS.values())),
            "audit_max": days_text(max(settings.AUDIT_RETENTION_DAYS.values())),
            "signing_fingerprint": _signing_fingerprint(),
            "previous_fingerprints": settings.EVIDENCE_PREVIOUS_FINGERPRINTS,
            "legal_references": legal.REFERENCES,
        },
    )


def _signing_fingerprint() -> str | None:
    """The city's evidence signing key fingerprint, that verifiers of its packages pin."""
    try:
        return manifest.signer().fingerprint
    except ImproperlyConfigured:
        # The exports fail loudly on their own; the public page still informs.
        return None


# --- Violations de données (RGPD art. 33.5) ----------------------------------------------------


def _breach(pk: int) -> Breach:
    return get_object_or_404(Breach, pk=pk)


def _with_time_left(breach: Breach, now) -> Breach:
    breach.time_left, breach.overdue = breaches.time_left(breach, now)
    return breach


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@role_required(*BREACH_KEEPERS)
def breach_list(request: SignedInRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in Breach.State.values:
        state = ""
    rows = Breach.objects.all()
    if state:
        rows = rows.filter(state=state)
    now = timezone.now()
    return render(
        request,
        "compliance/breach_list.html",
        {
            "breaches": [_with_time_left(b, now) for b in rows[:500]],
            "state": state,
            "states": Breach.State.choices,
        },
    )


@role_required(*BREACH_KEEPERS)
def breach_create(request: SignedInRequest) -> HttpResponse:
    form = BreachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = breaches.breach_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request,
                _("Violation %(ref)s enregistrée ; notification à la CNIL due avant le %(date)s.")
                % {"ref": created.reference, "date": local(created.deadline)},
            )
            return redirect("compliance:breach_detail", pk=created.pk)
    return render(request, "compliance/breach_form.html", {"form": form, "breach": None})


@role_required(*BREACH_KEEPERS)
def breach_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    breach = _breach(pk)
    with transaction.atomic():
        record("breach.viewed", actor=request.user, target=breach, target_label=breach.reference)
    return render(
        request,
        "compliance/breach_detail.html",
        {"breach": _with_time_left(breach, timezone.now()), "close_form": BreachCloseForm()},
    )


@role_required(*BREACH_KEEPERS)
def breach_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    breach = _breach(pk)
    if breach.state == Breach.State.CLOSED:
        messages.error(request, _("Cette violation est close : elle ne peut plus être modifiée."))
        return redirect("compliance:breach_detail", pk=breach.pk)
    initial = {field: getattr(breach, field) for field in breaches.FIELDS}
    form = BreachForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            breaches.breach_update(breach=breach, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("Violation %(ref)s mise à jour.") % {"ref": breach.reference}
            )
            return redirect("compliance:breach_detail", pk=breach.pk)
    return render(request, "compliance/breach_form.html", {"form": form, "breach": breach})


@role_required(*BREACH_KEEPERS)
def breach_decide(request: SignedInRequest, pk: int) -> HttpResponse:
    breach = _breach(pk)
    if breach.state == Breach.State.CLOSED:
        messages.error(request, _("Cette violation est close : elle ne peut plus être modifiée."))
        return redirect("compliance:breach_detail", pk=breach.pk)
    initial = {
        "cnil_decision": breach.cnil_decision,
        "cnil_reason": breach.cnil_reason,
        "cnil_notified_at": breach.cnil_notified_at,
        "cnil_reference": breach.cnil_reference,
        "people_decision": breach.people_decision,
        "people_reason": breach.people_reason,
        "people_notified_at": breach.people_notified_at,
    }
    form = BreachDecisionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            breaches.breach_decide(breach=breach, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request,
                _("Décision consignée pour la violation %(ref)s.") % {"ref": breach.reference},
            )
            return redirect("compliance:breach_detail", pk=breach.pk)
    return render(
        request,
        "compliance/breach_decide.html",
        {"form": form, "breach": _with_time_left(breach, timezone.now())},
    )


@require_POST
@role_required(*BREACH_KEEPERS)
def breach_close(request: SignedInRequest, pk: int) -> HttpResponse:
    breach = _breach(pk)
    form = BreachCloseForm(request.POST)
    if form.is_valid():
        try:
            breaches.breach_close(breach=breach, actor=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Violation %(ref)s close.") % {"ref": breach.reference})
    else:
        messages.error(request, _("Indiquez le bilan de la violation avant de la clore."))
    return redirect("compliance:breach_detail", pk=breach.pk)


# --- Registre des activités de traitement (RGPD art. 30, LIL art. 100) ------------------------


def _file_response(data: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response


@role_required(*COMPLIANCE_READERS)
def processing_record(request: SignedInRequest) -> HttpResponse:
    content = processing.generate()
    output = request.GET.get("format", "")
    if output:
        if output not in processing.FORMATS:
            raise Http404
        name, data = processing.processing_record_file(
            actor=request.user, output=output, version=None
        )
        return _file_response(data, name, processing.FORMATS[output])
    return render(
        request,
        "compliance/processing_record.html",
        {
            "content": content,
            "latest": processing.latest(),
            "differs": processing.differs_from_latest(content),
            "versions": ProcessingRecordVersion.objects.select_related("published_by").defer(
                "pdf", "odt", "content"
            ),
            "form": ProcessingRecordPublishForm(),
        },
    )


@require_POST
@role_required(*COMPLIANCE_READERS)
def processing_record_publish(request: SignedInRequest) -> HttpResponse:
    form = ProcessingRecordPublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("compliance:processing_record")
    try:
        version = processing.processing_record_publish(
            actor=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Version %(n)s du registre des traitements publiée.") % {"n": version.number},
        )
    return redirect("compliance:processing_record")


@role_required(*COMPLIANCE_READERS)
def processing_record_version(request: SignedInRequest, version: int, output: str) -> HttpResponse:
    if output not in processing.FORMATS:
        raise Http404
    frozen = get_object_or_404(ProcessingRecordVersion, number=version)
    name, data = processing.processing_record_file(
        actor=request.user, output=output, version=frozen
    )
    return _file_response(data, name, processing.FORMATS[output])


# --- Analyse d'impact (AIPD, RGPD art. 35.3.c) ---------------------------------------------------


@role_required(*COMPLIANCE_READERS)
def impact_assessments(request: SignedInRequest) -> HttpResponse:
    return render(
        request,
        "compliance/impact_assessments.html",
        {
            "state": aipd.review_state(),
            "review_days": settings.COMPLIANCE_AIPD_REVIEW_DAYS,
            "versions": ImpactAssessment.objects.select_related("recorded_by").prefetch_related(
                "authorizations"
            ),
        },
    )


@role_required(*COMPLIANCE_READERS)
def impact_assessment_create(request: SignedInRequest) -> HttpResponse:
    form = ImpactAssessmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # One byte past the limit is enough to refuse it, without reading a huge file.
        data = upload.read(settings.COMPLIANCE_AIPD_MAX_BYTES + 1)
        try:
            assessment = aipd.impact_assessment_add(
                actor=request.user,
                file_name=upload.name or "",
                data=data,
                assessed_on=form.cleaned_data["assessed_on"],
                author=form.cleaned_data["author"],
                summary=form.cleaned_data["summary"],
                authorizations=form.cleaned_data["authorizations"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(n)s de l'analyse d'impact enregistrée.") % {"n": assessment.version},
            )
            return redirect("compliance:impact_assessments")
    return render(request, "compliance/impact_assessment_form.html", {"form": form})


@role_required(*COMPLIANCE_READERS)
def impact_assessment_download(request: SignedInRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(ImpactAssessment, pk=pk)
    data = aipd.impact_assessment_file(actor=request.user, assessment=assessment)
    return _file_response(data, assessment.file_name, assessment.file_type)
