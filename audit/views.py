from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.decorators import role_required
from accounts.roles import AUDIT_READERS
from audit.forms import EventSearchForm
from audit.models import AuditEvent, ChainCheckpoint, ChainVerification
from audit.selectors import filters_from, search_events


@role_required(*AUDIT_READERS)
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventSearchForm(request.GET or None)
    events = AuditEvent.objects.none()
    if form.is_bound and form.is_valid():
        events = search_events(**filters_from(form.cleaned_data))
    elif not form.is_bound:
        events = search_events()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "last_verification": ChainVerification.objects.order_by("-finished_at").first(),
            "last_checkpoint": ChainCheckpoint.objects.order_by("-signed_at").first(),
        },
    )


@role_required(*AUDIT_READERS)
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent, seq=seq)
    return render(request, "audit/event_detail.html", {"event": event})
