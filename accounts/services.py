"""Writes on people and habilitations; each writes its audit event in the same transaction."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import scope
from accounts.actors import Actor, person
from accounts.models import (
    Agreement,
    ApiToken,
    Commune,
    Habilitation,
    Service,
    Training,
    User,
    home_commune,
    token_digest,
)
from accounts.qualities import grant_refusals
from accounts.roles import ROLE_RIGHTS, Right, Role
from audit.services import record

logger = logging.getLogger(__name__)

USER_FIELDS = ("first_name", "last_name", "email", "role", "service", "badge_number", "is_active")


def _is_self(actor: Actor, user: User) -> bool:
    """Whether a person acts on their own account (system actors are strings, never "self")."""
    return isinstance(actor, User) and actor.pk is not None and actor.pk == user.pk


def _refuse_self_escalation(*, user: User, actor: Actor, changes: dict[str, Any]) -> None:
    """Nobody changes their own role or switches their own account off or on: another does."""
    if not _is_self(actor, user):
        return
    if "role" in changes and changes["role"] != user.role:
        raise ValidationError(
            {
                "role": _(
                    "Vous ne pouvez pas changer votre propre rôle : demandez-le à un autre "
                    "administrateur."
                )
            }
        )
    if "is_active" in changes and changes["is_active"] != user.is_active:
        raise ValidationError(
            {"is_active": _("Vous ne pouvez pas désactiver ou réactiver votre propre compte.")}
        )


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    actor: Actor,
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
    # A password an administrator chose is known to two people: its holder replaces it first.
    user.must_change_password = isinstance(actor, User)
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
def user_update(*, user: User, actor: Actor, **changes: Any) -> User:
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    _refuse_self_escalation(user=user, actor=actor, changes=changes)
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
        if not user.is_active:
            api_tokens_revoke(user=user, actor=actor, cause="deactivated")
            sessions_end(user=user, actor=actor, cause="deactivated")
    other = {k: v for k, v in diff.items() if k not in ("role", "is_active")}
    if other:
        record("account.updated", actor=actor, target=user, details={"changes": other})
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: Actor) -> None:
    """An administrator sets someone's password: its holder must replace it at next sign-in.

    Their API tokens are revoked. One's own password is changed with the old one instead
    (:func:`password_change`).
    """
    if _is_self(actor, user):
        raise ValidationError(
            {
                "password": _(
                    "Changez votre propre mot de passe depuis la page « Mot de passe », "
                    "avec l'ancien."
                )
            }
        )
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    record(
        "account.updated", actor=actor, target=user, details={"changes": {"password": "changed"}}
    )
    api_tokens_revoke(user=user, actor=actor, cause="password_reset")
    sessions_end(user=user, actor=actor, cause="password_reset")


@transaction.atomic
def password_change(
    *, user: User, old_password: str, new_password: str, keep_session: str = ""
) -> None:
    """The person replaces their own password, giving the old one; their API tokens are revoked
    and every other session of theirs ends (``keep_session``: the key of the one in use)."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("L'ancien mot de passe est incorrect.")})
    if new_password == old_password:
        raise ValidationError(
            {"new_password1": _("Le nouveau mot de passe doit être différent de l'ancien.")}
        )
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    record("account.password_changed", actor=user, target=user)
    api_tokens_revoke(user=user, actor=user, cause="password_changed")
    sessions_end(user=user, actor=user, cause="password_changed", keep=keep_session)


@transaction.atomic
def api_token_issue(*, user: User) -> tuple[str, ApiToken]:
    """A new API token for the person, replacing the previous one; only its digest is kept."""
    ApiToken.objects.filter(user=user).delete()
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, digest=token_digest(key))
    record("auth.token_issued", actor=user, target=user)
    return key, token


@transaction.atomic
def api_tokens_revoke(*, user: User, actor: Actor, cause: str) -> int:
    """Revoke every API token of the person (sign-out, password or second factor changed)."""
    deleted, _count = ApiToken.objects.filter(user=user).delete()
    if deleted:
        record(
            "auth.tokens_revoked",
            actor=actor,
            target=user,
            details={"tokens": deleted, "cause": cause},
        )
    return deleted


@transaction.atomic
def sessions_end(*, user: User, actor: Actor, cause: str, keep: str = "") -> int:
    """End every open session of the person, but ``keep`` (the key of the session making the
    change, if it is theirs); returns how many ended.

    A second-factor reset, a password change and a deactivation call it, so that a stolen
    session can neither enrol a new authenticator nor go on working. Sessions are stored in the
    database (``django.contrib.sessions``' default engine): their rows are deleted, which ends
    them at once wherever they were opened and takes with them what they hold on the server
    (the one-off keys of playbacks). A request of such a session still running cannot save it
    back: Django refuses with ``SessionInterrupted``. A session version kept on the person and
    checked by middleware would leave those rows, and their keys, in place until they expire.
    """
    owner = str(user.pk)
    doomed = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now())
        .exclude(session_key=keep)
        .iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == owner
    ]
    deleted, _count = Session.objects.filter(session_key__in=doomed).delete()
    if deleted:
        record(
            "auth.sessions_ended",
            actor=actor,
            target=user,
            details={"sessions": deleted, "cause": cause},
        )
    return deleted


def _required_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    return reason


@transaction.atomic
def second_factor_reset(*, user: User, actor: Actor, reason: str) -> None:
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
    api_tokens_revoke(user=user, actor=actor, cause="second_factor_reset")
    sessions_end(user=user, actor=actor, cause="second_factor_reset")


@transaction.atomic
def second_factor_confirm(*, device: TOTPDevice, actor: Actor) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    record("auth.second_factor_enrolled", actor=actor, target=device.user)


def _habilitation_details(h: Habilitation) -> dict[str, Any]:
    return {
        "commune": str(h.commune),
        "decision_reference": h.decision_reference,
        "issuer": h.issuer,
        "valid_from": h.valid_from,
        "valid_until": h.valid_until,
        "rights": h.rights,
        "all_cameras": h.all_cameras,
        "sectors": h.sectors,
        "camera_codes": h.camera_codes,
    }


def _clean_scope(values: list[str] | None) -> list[str]:
    return sorted({v.strip() for v in values or [] if v and v.strip()})


def _check_scope(
    habilitation: Habilitation, before: tuple[list[str], list[str]] = ([], [])
) -> None:
    """A sector or a camera the register does not know is refused (field by field).

    Only what is added is checked: a habilitation keeps a camera since taken out of service
    until someone removes it.
    """
    refused = scope.unknown(
        set(habilitation.sectors) - set(before[0]),
        set(habilitation.camera_codes) - set(before[1]),
    )
    if refused:
        raise ValidationError(refused)


def _check_grant(habilitation: Habilitation, *, actor: Actor, creating: bool) -> None:
    """The guards of every habilitation write, for the pages and the API alike.

    Nobody grants or widens a habilitation of their own, an inactive account gets none, and the
    holder's role bounds the rights (an operator never replays, an administrator sees nothing).
    """
    holder = habilitation.user
    if _is_self(actor, holder):
        raise ValidationError(
            {"user": _("Vous ne pouvez pas vous délivrer ni modifier votre propre habilitation.")}
        )
    if creating and not holder.is_active:
        raise ValidationError({"user": _("Ce compte est désactivé : aucune habilitation.")})
    allowed = ROLE_RIGHTS.get(holder.role, frozenset())
    beyond = sorted(set(habilitation.rights) - allowed)
    if beyond:
        raise ValidationError(
            _("Le rôle %(role)s ne permet pas ce droit : %(rights)s.")
            % {
                "role": holder.get_role_display(),
                "rights": ", ".join(str(Right(right).label) for right in beyond),
            }
        )
    # The authorizations list who may view their cameras (CSI L252-2): the register checks it.
    refusals = grant_refusals(habilitation)
    if refusals:
        raise ValidationError(refusals)


@transaction.atomic
def habilitation_create(
    *,
    user: User,
    decision_reference: str,
    issuer: str,
    valid_from: date,
    valid_until: date,
    actor: Actor,
    all_cameras: bool = False,
    sectors: list[str] | None = None,
    camera_codes: list[str] | None = None,
    can_live: bool = False,
    can_replay: bool = False,
    can_extract: bool = False,
    commune: Commune | None = None,
) -> Habilitation:
    habilitation = Habilitation(
        user=user,
        commune=commune or home_commune(),
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
        created_by=person(actor),
    )
    _check_scope(habilitation)
    _check_grant(habilitation, actor=actor, creating=True)
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
    "commune",
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
)


@transaction.atomic
def habilitation_update(
    *, habilitation: Habilitation, actor: Actor, **changes: Any
) -> Habilitation:
    unknown = set(changes) - set(HABILITATION_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    if habilitation.revoked_at:
        raise ValidationError(_("Une habilitation retirée ne peut plus être modifiée."))
    before = _habilitation_details(habilitation)
    held = (list(habilitation.sectors), list(habilitation.camera_codes))
    for name in ("sectors", "camera_codes"):
        if name in changes:
            changes[name] = _clean_scope(changes[name])
    for name, value in changes.items():
        setattr(habilitation, name, value)
    _check_scope(habilitation, held)
    _check_grant(habilitation, actor=actor, creating=False)
    habilitation.full_clean()
    habilitation.save()
    after = _habilitation_details(habilitation)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if diff:
        record("habilitation.updated", actor=actor, target=habilitation, details={"changes": diff})
    return habilitation


@transaction.atomic
def habilitation_revoke(*, habilitation: Habilitation, actor: Actor, reason: str) -> Habilitation:
    """Withdraw the habilitation now, with a required reason; revoking twice changes nothing."""
    reason = _required_reason(reason, _("Indiquez le motif du retrait."))
    updated = Habilitation.objects.filter(pk=habilitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revocation_reason=reason
    )
    habilitation.refresh_from_db()
    if updated:
        record("habilitation.revoked", actor=actor, target=habilitation, reason=reason)
    return habilitation


@transaction.atomic
def training_record(
    *,
    user: User,
    held_on: date,
    actor: Actor,
    kind: str = Training.Kind.INITIAL,
    title: str = "",
    organisation: str = "",
    attestation_reference: str = "",
    now: datetime | None = None,
) -> Training:
    """Record a training the person followed (CSI L255-1); a date to come is refused."""
    now = now or timezone.now()
    if held_on > timezone.localdate(now):
        raise ValidationError(
            {
                "held_on": _(
                    "La date de formation est dans le futur : enregistrez-la une fois suivie."
                )
            }
        )
    training = Training(
        user=user,
        held_on=held_on,
        kind=kind,
        title=title.strip(),
        organisation=organisation.strip(),
        attestation_reference=attestation_reference.strip(),
        recorded_at=now,
        recorded_by=person(actor),
    )
    training.full_clean()
    training.save()
    record(
        "training.recorded",
        actor=actor,
        target=user,
        details={
            "held_on": held_on.isoformat(),
            "kind": kind,
            "title": training.title,
            "organisation": training.organisation,
            "attestation_reference": training.attestation_reference,
        },
    )
    return training


def training_reminders_due(today: date | None = None) -> list[tuple[Training, int]]:
    """The latest trainings of active people that lapse within a reminder threshold not yet
    reminded, each with the threshold to remind now (the smallest one reached)."""
    today = today or timezone.localdate()
    validity = settings.TRAINING_VALIDITY_DAYS
    thresholds = settings.TRAINING_REMINDER_DAYS
    if not validity or not thresholds:
        return []
    latest: dict[int, Training] = {}
    for training in Training.objects.filter(
        user__is_active=True,
        held_on__lte=today,
        held_on__gte=today - timedelta(days=validity),
    ).select_related("user"):
        kept = latest.get(training.user_id)
        if kept is None or training.held_on > kept.held_on:
            latest[training.user_id] = training
    due = []
    for training in latest.values():
        days_left = (training.held_on + timedelta(days=validity) - today).days
        reached = [t for t in thresholds if days_left <= t]
        if not reached:
            continue
        threshold = min(reached)
        if training.reminded_at_days is None or training.reminded_at_days > threshold:
            due.append((training, threshold))
    return sorted(due, key=lambda item: (item[0].held_on, item[0].pk))


def training_remind(*, training: Training, threshold: int, actor: Actor) -> bool:
    """Tell the person and the administrators that the training lapses soon, once per
    threshold (a conditional update claims it, so two workers never both send). True if sent."""
    with transaction.atomic():
        claimed = (
            Training.objects.filter(pk=training.pk)
            .filter(Q(reminded_at_days__isnull=True) | Q(reminded_at_days__gt=threshold))
            .update(reminded_at_days=threshold)
        )
        if not claimed:
            return False
        expires = training.held_on + timedelta(days=settings.TRAINING_VALIDITY_DAYS)
        record(
            "training.reminder",
            actor=actor,
            target=training.user,
            details={
                "held_on": training.held_on.isoformat(),
                "expires_on": expires.isoformat(),
                "threshold_days": threshold,
            },
        )
    recipients = [training.user.email] if training.user.email else []
    recipients += list(
        User.objects.filter(role=Role.ADMIN, is_active=True)
        .exclude(email="")
        .exclude(pk=training.user.pk)
        .values_list("email", flat=True)
    )
    if recipients:
        values = {"person": training.user.get_full_name() or training.user.get_username()}
        values["date"] = f"{expires:%d/%m/%Y}"
        try:
            send_mail(
                _("Formation de %(person)s : recyclage à prévoir avant le %(date)s") % values,
                _(
                    "La formation de %(person)s aux images de vidéoprotection cesse de valoir "
                    "le %(date)s (CSI L255-1). Passé cette date, ses habilitations n'ouvrent plus "
                    "aucune image tant qu'un recyclage n'est pas enregistré."
                )
                % values,
                None,
                recipients,
            )
        except OSError:
            logger.exception("training reminder %s could not be mailed", training.pk)
    return True


# --- Communes and intercommunal conventions ------------------------------------------------------


def _commune_details(commune: Commune) -> dict[str, Any]:
    return {"name": commune.name, "insee_code": commune.insee_code}


@transaction.atomic
def commune_create(*, name: str, insee_code: str, actor: Actor) -> Commune:
    """Record a commune the CSU serves (an intercommunal CSU serves several)."""
    commune = Commune(name=name.strip(), insee_code=insee_code.strip().upper())
    commune.full_clean()
    commune.save()
    record("commune.created", actor=actor, target=commune, details=_commune_details(commune))
    return commune


@transaction.atomic
def commune_update(*, commune: Commune, actor: Actor, **changes: Any) -> Commune:
    unknown = set(changes) - {"name", "insee_code"}
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    before = _commune_details(commune)
    if "insee_code" in changes:
        changes["insee_code"] = changes["insee_code"].strip().upper()
    for name, value in changes.items():
        setattr(commune, name, value)
    commune.full_clean()
    commune.save()
    after = _commune_details(commune)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if diff:
        record("commune.updated", actor=actor, target=commune, details={"changes": diff})
    return commune


def _agreement_details(agreement: Agreement) -> dict[str, Any]:
    return {
        "reference": agreement.reference,
        "title": agreement.title,
        "signed_on": agreement.signed_on,
        "signed_by": agreement.signed_by,
        "valid_from": agreement.valid_from,
        "valid_until": agreement.valid_until,
        "viewer_communes": [str(c) for c in agreement.viewer_communes.order_by("insee_code")],
        "camera_communes": [str(c) for c in agreement.camera_communes.order_by("insee_code")],
    }


@transaction.atomic
def agreement_create(
    *,
    reference: str,
    title: str,
    signed_on: date,
    signed_by: str,
    valid_from: date,
    viewer_communes: list[Commune],
    camera_communes: list[Commune],
    actor: Actor,
    valid_until: date | None = None,
) -> Agreement:
    """Record a convention de mutualisation: from ``valid_from`` (until ``valid_until``, or
    until it is ended) the agents of ``viewer_communes`` may view the cameras of
    ``camera_communes``, within their habilitations."""
    viewers, cameras = set(viewer_communes), set(camera_communes)
    errors: dict[str, str] = {}
    if not viewers:
        errors["viewer_communes"] = _("Indiquez les communes dont les agents visionnent.")
    if not cameras:
        errors["camera_communes"] = _("Indiquez les communes dont les caméras sont visionnées.")
    elif viewers and len(viewers | cameras) == 1:
        errors["camera_communes"] = _(
            "La convention n'ouvre aucune caméra d'une autre commune : chaque commune voit "
            "déjà les siennes."
        )
    if signed_on and valid_from and signed_on > valid_from:
        errors["valid_from"] = _("Une convention n'entre pas en vigueur avant sa signature.")
    if errors:
        raise ValidationError(errors)
    agreement = Agreement(
        reference=reference.strip(),
        title=title.strip(),
        signed_on=signed_on,
        signed_by=signed_by.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
        created_by=person(actor),
    )
    agreement.full_clean()
    agreement.save()
    agreement.viewer_communes.set(viewers)
    agreement.camera_communes.set(cameras)
    record(
        "agreement.created",
        actor=actor,
        target=agreement,
        details=_agreement_details(agreement),
    )
    return agreement


@transaction.atomic
def agreement_end(
    *, agreement: Agreement, actor: Actor, reason: str, now: datetime | None = None
) -> Agreement:
    """End the convention now (dénonciation, résiliation), with a required reason: from this
    moment its communes' agents no longer see each other's cameras. Ending twice changes
    nothing."""
    reason = _required_reason(reason, _("Indiquez le motif de la fin de la convention."))
    now = now or timezone.now()
    ended = Agreement.objects.filter(pk=agreement.pk, ended_at__isnull=True).update(
        ended_at=now, ended_by=person(actor), end_reason=reason
    )
    agreement.refresh_from_db()
    if ended:
        record(
            "agreement.ended",
            actor=actor,
            target=agreement,
            reason=reason,
            details={"ended_at": now},
        )
    return agreement
