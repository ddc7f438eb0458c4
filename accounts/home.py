"""What each role's home page shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Habilitation, User
from accounts.roles import ROLE_RIGHTS, Role
from audit.models import AuditEvent, ChainCheckpoint
from audit.selectors import chain_state


def _common(user: User) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "habilitations": Habilitation.objects.filter(
            user=user, revoked_at__isnull=True, valid_until__gte=today
        )
        .select_related("user")
        .prefetch_related("user__trainings")
        .order_by("valid_from"),
        "has_image_rights": bool(ROLE_RIGHTS.get(user.role)),
        "recent_sign_ins": AuditEvent.objects.filter(
            actor_id=user.pk, action="auth.login"
        ).order_by("-seq")[1:6],
        "today": today,
    }


def _admin(user: User) -> dict[str, Any]:
    today = timezone.localdate()
    enrolled = TOTPDevice.objects.filter(confirmed=True).values("user_id")
    return {
        "users_by_role": User.objects.filter(is_active=True)
        .values("role")
        .annotate(n=Count("id"))
        .order_by("role"),
        "role_labels": dict(Role.choices),
        "expiring": Habilitation.objects.valid_on(today)
        .filter(valid_until__lte=today + timedelta(days=30))
        .select_related("user")
        .order_by("valid_until"),
        "not_enrolled": User.objects.filter(is_active=True)
        .exclude(pk__in=enrolled)
        .order_by("username"),
    }


def _dpo(user: User) -> dict[str, Any]:
    since = timezone.now() - timedelta(hours=24)
    state = chain_state()
    return {
        "events_total": AuditEvent.objects.count(),
        "events_today": AuditEvent.objects.filter(occurred_at__gte=since).count(),
        "last_verification": state.last_verification,
        "chain_suspicious": state.suspicious,
        "last_checkpoint": ChainCheckpoint.objects.order_by("-signed_at").first(),
        "recent_events": AuditEvent.objects.order_by("-seq")[:10],
    }


_EXTRA: dict[str, Callable[[User], dict[str, Any]]] = {Role.ADMIN: _admin, Role.DPO: _dpo}


#: Sections that upper apps add to a role's home page (evidence: the officer's news).
_SECTIONS: dict[str, list[Callable[[User], dict[str, Any]]]] = {}


def add_section(role: str, provider: Callable[[User], dict[str, Any]]) -> None:
    """An upper app adds context to ``role``'s home page (accounts cannot import it)."""
    _SECTIONS.setdefault(role, []).append(provider)


def home_context(user: User) -> dict[str, Any]:
    context = _common(user)
    extra = _EXTRA.get(user.role)
    if extra:
        context.update(extra(user))
    for provider in _SECTIONS.get(user.role, []):
        context.update(provider(user))
    return context
