"""Writes on people and habilitations; each writes its audit event in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Habilitation, Service, User
from audit.services import record

USER_FIELDS = ("first_name", "last_name", "email", "role", "service", "badge_number", "is_active")


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    actor: Any,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    service: Service | None = None,
    badge_number: str = "",
) -> User:
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        service=service,
        badge_number=badge_number,
    )
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    record(
        "account.created",
        actor=actor,
        target=user,
        details={"role": role, "service": service.code if service else None},
    )
    return user


@transaction.atomic
def user_update(*, user: User, actor: Any, **changes: Any) -> User:
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    before = {name: getattr(user, name) for name in changes}
    for name, value in changes.items():
        setattr(user, name, value)
    user.full_clean()
    user.save()
    diff = {
        name: [
            str(before[name]) if before[name] is not None else None,
            str(value) if value is not None else None,
        ]
        for name, value in changes.items()
        if before[name] != value
    }
    if "role" in diff:
        record("account.role_changed", actor=actor, target=user, details={"role": diff["role"]})
    if "is_active" in diff:
        record(
            "account.deactivated" if not user.is_active else "account.reactivated",
            actor=actor,
            target=user,
        )
    other = {k: v for k, v in diff.items() if k not in ("role", "is_active")}
    if other:
        record("account.updated", actor=actor, target=user, details={"changes": other})
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: Any) -> None:
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    record(
        "account.updated", actor=actor, target=user, details={"changes": {"password": "changed"}}
    )


def _required_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    return reason


@transaction.atomic
def second_factor_reset(*, user: User, actor: Any, reason: str) -> None:
    """Remove the person's TOTP devices: they enrol again at next sign-in. A reason is required."""
    reason = _required_reason(reason, _("Indiquez le motif de la réinitialisation."))
    deleted, _count = TOTPDevice.objects.filter(user=user).delete()
    record(
        "auth.second_factor_reset",
        actor=actor,
        target=user,
        reason=reason,
        details={"devices": deleted},
    )


@transaction.atomic
def second_factor_confirm(*, device: TOTPDevice, actor: Any) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    record("auth.second_factor_enrolled", actor=actor, target=device.user)


def _habilitation_details(h: Habilitation) -> dict[str, Any]:
    return {
        "decision_reference": h.decision_reference,
        "issuer": h.issuer,
        "valid_from": h.valid_from,
        "valid_until": h.valid_until,
        "rights": h.rights,
        "all_cameras": h.all_cameras,
        "sectors": h.sectors,
        "camera_codes": h.camera_codes,
        "last_training_on": h.last_training_on,
    }


def _clean_scope(values: list[str] | None) -> list[str]:
    return sorted({v.strip() for v in values or [] if v and v.strip()})


@transaction.atomic
def habilitation_create(
    *,
    user: User,
    decision_reference: str,
    issuer: str,
    valid_from: date,
    valid_until: date,
    actor: Any,
    all_cameras: bool = False,
    sectors: list[str] | None = None,
    camera_codes: list[str] | None = None,
    can_live: bool = False,
    can_replay: bool = False,
    can_extract: bool = False,
    last_training_on: date | None = None,
) -> Habilitation:
    habilitation = Habilitation(
        user=user,
        decision_reference=decision_reference.strip(),
        issuer=issuer.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
        all_cameras=all_cameras,
        sectors=_clean_scope(sectors),
        camera_codes=_clean_scope(camera_codes),
        can_live=can_live,
        can_replay=can_replay,
        can_extract=can_extract,
        last_training_on=last_training_on,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    habilitation.full_clean()
    habilitation.save()
    record(
        "habilitation.created",
        actor=actor,
        target=habilitation,
        recipient=str(user),
        details=_habilitation_details(habilitation),
    )
    return habilitation


HABILITATION_FIELDS = (
    "decision_reference",
    "issuer",
    "valid_from",
    "valid_until",
    "all_cameras",
    "sectors",
    "camera_codes",
    "can_live",
    "can_replay",
    "can_extract",
    "last_training_on",
)


@transaction.atomic
def habilitation_update(*, habilitation: Habilitation, actor: Any, **changes: Any) -> Habilitation:
    unknown = set(changes) - set(HABILITATION_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    if habilitation.revoked_at:
        raise ValidationError(_("Une habilitation retirée ne peut plus être modifiée."))
    before = _habilitation_details(habilitation)
    for name in ("sectors", "camera_codes"):
        if name in changes:
            changes[name] = _clean_scope(changes[name])
    for name, value in changes.items():
        setattr(habilitation, name, value)
    habilitation.full_clean()
    habilitation.save()
    after = _habilitation_details(habilitation)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if diff:
        record("habilitation.updated", actor=actor, target=habilitation, details={"changes": diff})
    return habilitation


@transaction.atomic
def habilitation_revoke(*, habilitation: Habilitation, actor: Any, reason: str) -> Habilitation:
    """Withdraw the habilitation now, with a required reason; revoking twice changes nothing."""
    reason = _required_reason(reason, _("Indiquez le motif du retrait."))
    updated = Habilitation.objects.filter(pk=habilitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revocation_reason=reason
    )
    habilitation.refresh_from_db()
    if updated:
        record("habilitation.revoked", actor=actor, target=habilitation, reason=reason)
    return habilitation
