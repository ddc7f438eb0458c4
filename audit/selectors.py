"""Reading the audit trail with the DPO's filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from audit import integrity
from audit.models import AuditEvent, ChainVerification
from csu.lib.search import contains_words


def search_events(
    *,
    events: QuerySet[AuditEvent] | None = None,
    actor: str = "",
    action: str = "",
    target: str = "",
    reason: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    events = (AuditEvent.objects.all() if events is None else events).order_by("-seq")
    # Names and words are found whatever their accents and case (csu.lib.search).
    if actor:
        aliases, condition = contains_words(actor, "actor_name")
        events = events.alias(**aliases).filter(condition)
    if action:
        events = events.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if target:
        aliases, condition = contains_words(target, "target_label")
        events = events.alias(**aliases).filter(condition | Q(target_id=target))
    if reason:
        aliases, condition = contains_words(reason, "reason")
        events = events.alias(**aliases).filter(condition)
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lt=until)
    return events


def filters_from(data: Any) -> dict[str, Any]:
    """The search arguments present in validated form or serializer data."""
    keys = ("actor", "action", "target", "reason", "since", "until")
    return {k: data[k] for k in keys if data.get(k) not in (None, "")}


# --- The chain's state as the DPO's pages show it -------------------------------------------------

VERIFICATION_ACTIONS = ("audit.chain_verified", "audit.chain_broken")


@dataclass(frozen=True)
class Verification:
    """A full verification whose outcome is signed by the audit key (see integrity)."""

    seq: int
    #: the ChainVerification row it wrote beside the event
    verification_id: int
    finished_at: datetime
    events_checked: int
    ok: bool
    first_broken_seq: int | None
    message: str


@dataclass(frozen=True)
class ChainState:
    last_verification: Verification | None
    #: verification records that no signed outcome backs: forged, to be looked into
    suspicious: list[str] = field(default_factory=list)


def chain_state(*, lookback: int = 50) -> ChainState:
    """The last full verification, from the signed outcomes in the trail, and every
    verification record written since that no signed outcome backs (shown as suspicious).

    ChainVerification rows and events can both be inserted by the application's database role;
    the signature of the audit key cannot. A forged "OK" is therefore never the last check, nor
    is a signed outcome copied from an older verification into a newer event (a replay): the
    last check is the signed outcome of the newest verification.
    """
    keys = integrity.pinned_keys()
    suspicious: list[str] = []
    found: list[tuple[int, Any, Verification | None]] = []
    events = AuditEvent.objects.filter(action__in=VERIFICATION_ACTIONS).order_by("-seq")
    for event in events[:lookback]:
        details = event.details if isinstance(event.details, dict) else {}
        finished = parse_datetime(str(details.get("finished_at", "")))
        verification = None
        if integrity.verification_problem(details, keys) is None and finished is not None:
            verification = Verification(
                seq=event.seq,
                verification_id=int(details.get("verification_id") or 0),
                finished_at=finished,
                events_checked=int(details.get("events_checked") or 0),
                ok=bool(details.get("ok")),
                first_broken_seq=details.get("first_broken_seq"),
                message="; ".join(str(p) for p in details.get("problems") or []),
            )
        found.append((event.seq, event.occurred_at, verification))
    signed = [v for _seq, _at, v in found if v is not None]
    # The newest verification has the highest row number; the original of a replayed outcome
    # is its first event (the lowest event number).
    last = max(signed, key=lambda v: (v.verification_id, -v.seq), default=None)
    for seq, occurred_at, verification in found:
        if last is not None and seq <= last.seq:
            break
        if verification is None:
            text = _(
                "Événement n° %(seq)s du %(date)s : résultat de vérification sans signature "
                "valide de la clé du journal, ignoré."
            )
        else:
            text = _(
                "Événement n° %(seq)s du %(date)s : reprend le résultat signé d'une "
                "vérification antérieure (enregistrement n° %(pk)s), ignoré."
            )
        suspicious.append(
            text
            % {
                "seq": seq,
                "date": _local(occurred_at),
                "pk": verification.verification_id if verification else "",
            }
        )
    rows = ChainVerification.objects.order_by("-pk")
    if last is not None:
        rows = rows.filter(Q(pk__gt=last.verification_id) | Q(finished_at__gt=last.finished_at))
    for row in rows[:lookback]:
        suspicious.append(
            _(
                "Vérification du %(date)s (enregistrement n° %(pk)s, « %(state)s ») sans "
                "résultat signé dans le journal : enregistrement suspect, ignoré."
            )
            % {
                "date": _local(row.finished_at),
                "pk": row.pk,
                "state": _("chaîne intègre") if row.ok else _("chaîne rompue"),
            }
        )
    return ChainState(last_verification=last, suspicious=suspicious)


def _local(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y H:i")
