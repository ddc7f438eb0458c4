"""Reads that depend on who asks: one scoping function, the queue, the timeline, the registers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import BooleanField, Case, F, Prefetch, QuerySet, Value, When
from django.utils import timezone

from accounts.roles import Role
from audit import actions
from audit.models import AuditEvent
from evidence import manifest
from evidence.models import BUILT_STATES, PENDING, DownloadLink, Export, Requisition, Status, Window

#: What a supervisor sees: requisitions with something to extract or hand over, and their past.
SUPERVISOR_STATUSES = frozenset(Status.values) - PENDING - {Status.CANCELLED, Status.EXPIRED}
#: Audit rows that are not steps of the requisition (kept in the audit trail itself).
NOT_IN_HISTORY = ("requisition.decision_refused",)


#: What a role sees of some requisitions it may list: their reference and status, not their
#: details (facts, justification, procedure, decision, windows, scanned requisition, timeline).
#: A rejected requisition gives the control room nothing to extract: the supervisor learns that
#: it was rejected, not what it was about.
DETAILS_WITHHELD: dict[str, frozenset[str]] = {Role.SUPERVISOR: frozenset({Status.REJECTED})}
ACTIONS = ("view", "read")


def restrict(user: Any, action: str = "view") -> QuerySet[Requisition]:
    """The requisitions ``user`` may see (``view``: reference and status) or read in full
    (``read``): OPJs their service's, magistrates all, supervisors those decided in favour or
    beyond (rejected ones seen, not read); nobody else any.

    Every row carries ``details_withheld``: true where ``user`` sees the row without reading it.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    base = Requisition.objects.select_related("officer", "service", "decided_by")
    if not (user and user.is_authenticated and user.is_active):
        return base.none()
    if user.role == Role.OPJ:
        visible = base.filter(service_id=user.service_id)
    elif user.role == Role.MAGISTRATE:
        visible = base
    elif user.role == Role.SUPERVISOR:
        visible = base.filter(status__in=SUPERVISOR_STATUSES, decided_at__isnull=False)
    else:
        return base.none()
    withheld = DETAILS_WITHHELD.get(user.role, frozenset())
    if action == "read":
        visible = visible.exclude(status__in=withheld)
    if not withheld:
        return visible.annotate(details_withheld=Value(False, output_field=BooleanField()))
    return visible.annotate(
        details_withheld=Case(
            When(status__in=withheld, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def readable_ids(user: Any, ids: Collection[str]) -> set[str]:
    """Of the requisition ids given (as text), those ``user`` may read in full."""
    wanted = {int(value) for value in ids if str(value).isdigit()}
    if not wanted:
        return set()
    return {
        str(pk) for pk in restrict(user, "read").filter(pk__in=wanted).values_list("pk", flat=True)
    }


def requisition_list(user: Any) -> QuerySet[Requisition]:
    """The list for ``user``; a magistrate's starts with the queue, footage expiring first."""
    queryset = restrict(user).prefetch_related(
        Prefetch("windows", queryset=Window.objects.select_related("camera", "hold"))
    )
    if user.role == Role.MAGISTRATE:
        return queryset.order_by(
            F("decided_at").desc(nulls_first=True),
            F("footage_expires_at").asc(nulls_last=True),
            "submitted_at",
        )
    return queryset.order_by("-submitted_at", "-pk")


def review_queue(user: Any) -> QuerySet[Requisition]:
    return (
        restrict(user)
        .filter(status__in=PENDING)
        .order_by(F("footage_expires_at").asc(nulls_last=True), "submitted_at")
    )


def requisition_get(user: Any, pk: int) -> Requisition:
    return (
        restrict(user)
        .prefetch_related(
            Prefetch("windows", queryset=Window.objects.select_related("camera", "hold"))
        )
        .get(pk=pk)
    )


def current_export(requisition: Requisition) -> Export | None:
    return requisition.exports.select_related("prepared_by", "released_by").first()


def timeline(requisition: Requisition) -> list[dict[str, Any]]:
    """Every audited step of the requisition, oldest first, in words."""
    # A magistrate's input mistake was once audited as a refused decision: the audit trail
    # keeps those rows, the requisition's history shows only what happened to it.
    events = (
        AuditEvent.objects.filter(
            target_type=Requisition._meta.label_lower, target_id=str(requisition.pk)
        )
        .exclude(action__in=NOT_IN_HISTORY)
        .order_by("seq")
    )
    rows = []
    for event in events:
        try:
            label = actions.get(event.action).label
        except actions.UnknownAction:
            label = event.action
        rows.append(
            {
                "at": event.occurred_at,
                "action": event.action,
                "label": str(label),
                "actor": event.actor_name,
                "role": event.actor_role,
                "reason": event.reason,
                "status": event.details.get("to", ""),
            }
        )
    return rows


def extraction_register() -> QuerySet[Export]:
    """Registre des extractions: every package built, with who prepared and released it."""
    return (
        Export.objects.filter(state__in=BUILT_STATES)
        .select_related(
            "requisition__service", "requisition__officer", "prepared_by", "released_by"
        )
        .order_by("-finished_at")
    )


def handover_register() -> QuerySet[DownloadLink]:
    """Registre des remises: each download, to whom, when, from which link and release."""
    return (
        DownloadLink.objects.filter(used_at__isnull=False)
        .select_related("export__requisition__service", "recipient", "issued_by")
        .order_by("-used_at")
    )


def handover_signature(link: DownloadLink) -> str:
    """The state of the procès-verbal's signature, checked now against the city's keys."""
    record = None if link.handover_record is None else bytes(link.handover_record)
    return manifest.signature_state(
        record, link.handover_record_signature, link.handover_record_public_key
    )


def active_link(requisition: Requisition, user: Any) -> DownloadLink | None:
    return (
        DownloadLink.objects.filter(
            export__requisition=requisition,
            recipient=user,
            used_at__isnull=True,
            revoked_at__isnull=True,
        )
        .order_by("-issued_at")
        .first()
    )


def can_download(requisition: Requisition, user: Any) -> bool:
    """The officer has a usable download of the released package (not used, not expired)."""
    if user.role != Role.OPJ or user.pk != requisition.officer_id:
        return False
    if requisition.status not in (Status.READY, Status.HANDED_OVER):
        return False
    link = active_link(requisition, user)
    return link is not None and link.expires_at > timezone.now()


def handovers(requisition: Requisition) -> QuerySet[DownloadLink]:
    """The downloads made, each with its procès-verbal de remise, oldest first."""
    return (
        DownloadLink.objects.filter(export__requisition=requisition, used_at__isnull=False)
        .select_related("recipient")
        .defer("handover_record")
        .order_by("used_at", "pk")
    )


def handover_get(requisition: Requisition, link_pk: int) -> DownloadLink | None:
    return (
        DownloadLink.objects.filter(
            pk=link_pk,
            export__requisition=requisition,
            used_at__isnull=False,
            handover_record__isnull=False,
        )
        .select_related("export__requisition")
        .first()
    )


def allowed_download(requisition: Requisition) -> DownloadLink | None:
    """The officer's current, unused download authorization (what the supervisor allowed)."""
    return (
        DownloadLink.objects.filter(
            export__requisition=requisition, used_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("recipient")
        .order_by("-issued_at", "-pk")
        .first()
    )
