"""The single decision on access to images: may this person do this on this camera, now?

Every feature that shows, replays or extracts images asks here; nothing else decides.
A camera is anything with a ``code`` and a ``sector`` (the camera register's model), and
``police_relay`` where it is listed in the city's agreement with the Police nationale: a
camera without that attribute counts as not listed. Live viewing also needs the camera's
prefectoral authorization in force, which the camera itself tells (``authorization_refusal``);
every right needs the person's quality listed by that authorization (``quality_refusal``, CSI
L252-2), so that an arrêté edited to drop a quality closes its images to existing habilitations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    Habilitation,
    TrainingState,
    latest_training_on,
    training_expires_on,
    training_state,
)
from accounts.qualities import quality_of
from accounts.roles import AGREEMENT_BOUND_ROLES, ROLE_RIGHTS, Right


class CameraLike(Protocol):
    code: str
    sector: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    habilitation: Habilitation | None = None

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Scope:
    """The cameras a person may use for one right at one time, as a filter."""

    all_cameras: bool = False
    camera_codes: frozenset[str] = field(default_factory=frozenset)
    sectors: frozenset[str] = field(default_factory=frozenset)
    #: Only the cameras listed in the agreement with the Police nationale, within the above.
    agreement_only: bool = False

    @property
    def empty(self) -> bool:
        return not (self.all_cameras or self.camera_codes or self.sectors)

    def as_q(
        self,
        code_field: str = "code",
        sector_field: str = "sector",
        relay_field: str = "police_relay",
    ) -> Q:
        if self.empty:
            return Q(pk__in=[])
        if self.all_cameras:
            q = Q()
        else:
            q = Q(**{f"{code_field}__in": self.camera_codes}) | Q(
                **{f"{sector_field}__in": self.sectors}
            )
        if self.agreement_only:
            q &= Q(**{relay_field: True})
        return q


def _local_day(at: datetime | None):
    return timezone.localdate(at or timezone.now())


def _candidate_habilitations(user: Any, right: str, at: datetime | None):
    return Habilitation.objects.filter(user=user, **{f"can_{right}": True}).valid_on(_local_day(at))


def training_refusal(user: Any, at: datetime | None) -> str:
    """Why the person may see no image for want of a training in force (CSI L255-1), "" when
    they may or when the setting does not require it."""
    if not settings.TRAINING_REQUIRED:
        return ""
    day = _local_day(at)
    held_on = latest_training_on(user, day)
    state = training_state(held_on, day)
    if state == TrainingState.NONE:
        return _("Aucune formation enregistrée pour cette personne (CSI L255-1).")
    if state == TrainingState.EXPIRED:
        return _("Formation échue le %(day)s : un recyclage est nécessaire (CSI L255-1).") % {
            "day": f"{training_expires_on(held_on):%d/%m/%Y}"
        }
    return ""


def _authorization_refusal(camera: CameraLike, at: datetime | None) -> str:
    """Why the camera may not be shown live at ``at`` for want of an authorization in force
    (CSI L252-1), "" when it may: the camera register's own rule, asked of the camera (a camera
    without that rule has no authorization to lack)."""
    refusal = getattr(camera, "authorization_refusal", None)
    return refusal(_local_day(at)) if callable(refusal) else ""


def _quality_refusal(user: Any, camera: CameraLike) -> str:
    """Why the camera's authorization does not allow a person of this quality to view it
    (CSI L252-2), "" when it does: asked of the camera, like the authorization in force."""
    refusal = getattr(camera, "quality_refusal", None)
    return refusal(quality_of(user)) if callable(refusal) else ""


def decide(user: Any, right: str, camera: CameraLike, at: datetime | None = None) -> Decision:
    """Allowed or not, with the reason in words for the refusal page and the audit trail."""
    if right not in Right.values:
        raise ValueError(f"unknown right {right!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return Decision(False, _("Personne non authentifiée."))
    if right not in ROLE_RIGHTS.get(user.role, frozenset()):
        return Decision(False, _("Ce rôle ne donne pas accès à ces images."))
    if user.role in AGREEMENT_BOUND_ROLES and getattr(camera, "police_relay", False) is not True:
        return Decision(
            False,
            _("Cette caméra n'est pas listée dans la convention avec la Police nationale."),
        )
    unlisted = _quality_refusal(user, camera)
    if unlisted:
        return Decision(False, unlisted)
    if right == Right.LIVE:
        refusal = _authorization_refusal(camera, at)
        if refusal:
            return Decision(
                False,
                _("Pas de direct sans autorisation préfectorale en vigueur : %(reason)s")
                % {"reason": refusal},
            )
    for habilitation in _candidate_habilitations(user, right, at):
        if habilitation.covers(camera.code, camera.sector):
            untrained = training_refusal(user, at)
            if untrained:
                return Decision(False, untrained)
            return Decision(
                True,
                _("Habilitation %(ref)s.") % {"ref": habilitation.decision_reference},
                habilitation,
            )
    if not Habilitation.objects.filter(user=user).valid_on(_local_day(at)).exists():
        return Decision(False, _("Aucune habilitation en cours de validité."))
    return Decision(False, _("L'habilitation ne couvre pas cette caméra pour ce droit."))


def may(user: Any, right: str, camera: CameraLike, at: datetime | None = None) -> bool:
    return decide(user, right, camera, at).allowed


def scope(user: Any, right: str, at: datetime | None = None) -> Scope:
    """Union of the cameras the person's valid habilitations cover for this right."""
    if (
        user is None
        or not user.is_authenticated
        or not user.is_active
        or right not in ROLE_RIGHTS.get(user.role, frozenset())
        or training_refusal(user, at)
    ):
        return Scope()
    agreement_only = user.role in AGREEMENT_BOUND_ROLES
    codes: set[str] = set()
    sectors: set[str] = set()
    for habilitation in _candidate_habilitations(user, right, at):
        if habilitation.all_cameras:
            return Scope(all_cameras=True, agreement_only=agreement_only)
        codes.update(habilitation.camera_codes)
        sectors.update(habilitation.sectors)
    return Scope(
        camera_codes=frozenset(codes), sectors=frozenset(sectors), agreement_only=agreement_only
    )
