"""The audit trail's pages for those who read it (AUDIT_READERS): search, CSV and PDF exports,
one event. The events shown are those of ``audit.selectors.search_events``, the one filtered
queryset that the page, the exports and the API share.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from accounts.decorators import role_required
from audit import exports
from audit.models import AuditEvent, ChainCheckpoint
from audit.selectors import chain_state, search_events
from audit.services import record
from compliance.filters import AuditEventFilter
from compliance.roles import AUDIT_READERS


@role_required(*AUDIT_READERS)
def event_list(request: HttpRequest) -> HttpResponse:
    found = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.order_by("-seq"))
    form = found.form
    events = AuditEvent.objects.none() if found.is_bound and not found.is_valid() else found.qs
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    state = chain_state()
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "last_verification": state.last_verification,
            "chain_suspicious": state.suspicious,
            "last_checkpoint": ChainCheckpoint.objects.order_by("-signed_at").first(),
        },
    )


def _searched(request: HttpRequest) -> tuple[Any, Any]:
    found = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.all())
    if found.is_bound and not found.is_valid():
        return found.form, None
    return found.form, found.searched() if found.is_bound else {}


def _export_event(request: HttpRequest, output: str, filters: dict[str, Any], count: int) -> None:
    with transaction.atomic():
        record(
            "audit.exported",
            actor=request.user,
            target_type="audit.auditevent",
            target_label=_("Journal d'audit"),
            details={"format": output, "filters": filters, "events": count},
        )


@role_required(*AUDIT_READERS)
def event_export_csv(request: HttpRequest) -> HttpResponse:
    """The searched events with every hashed field and both hashes, re-verifiable offline."""
    form, filters = _searched(request)
    if filters is None:
        return HttpResponseBadRequest(" ".join(m for e in form.errors.values() for m in e))
    events = search_events(**filters)
    _export_event(request, "csv", filters, events.count())
    response = HttpResponse(exports.events_csv(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"journal-audit-{stamp}.csv"
    )
    return response


@role_required(*AUDIT_READERS)
def event_export_pdf(request: HttpRequest) -> HttpResponse:
    """The searched events as a paginated French PDF, with the chain's verification state."""
    form, filters = _searched(request)
    if filters is None:
        return HttpResponseBadRequest(" ".join(m for e in form.errors.values() for m in e))
    events = search_events(**filters)
    count = events.count()
    if count > exports.PDF_MAX_EVENTS:
        return HttpResponseBadRequest(
            _("Trop d'événements (%(n)s) pour un PDF : affinez la recherche ou exportez en CSV.")
            % {"n": count}
        )
    _export_event(request, "pdf", filters, count)
    body = exports.events_pdf(events, filters=filters, produced_by=request.user.get_username())
    response = HttpResponse(body, content_type="application/pdf")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"journal-audit-{stamp}.pdf"
    )
    return response


@role_required(*AUDIT_READERS)
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent, seq=seq)
    return render(request, "audit/event_detail.html", {"event": event})
