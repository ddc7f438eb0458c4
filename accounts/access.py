"""The single decision on access to images: may this person do this on this camera, now?

Every feature that shows, replays or extracts images asks here; nothing else decides.
A camera is anything with a ``code`` and a ``sector`` (the camera register's model), and
``police_relay`` where it is listed in the city's agreement with the Police nationale: a
camera without that attribute counts as not listed. Its ``commune_id`` says whose camera it is:
a habilitation opens the cameras of its own commune, and those of another only while a
convention in force lists it (intercommunal CSU, CC 2021-817 DC); a camera without that
attribute belongs to no commune in particular. Live viewing also needs the camera's
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
    Agreement,
    Commune,
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
class Grant:
    """The cameras of one or more habilitations: their perimeter, within the communes whose
    cameras their holder may see (their own and those a convention in force opens to them)."""

    communes: frozenset[int]
    all_cameras: bool = False
    camera_codes: frozenset[str] = field(default_factory=frozenset)
    sectors: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not self.communes or not (self.all_cameras or self.camera_codes or self.sectors)

    def as_q(self, code_field: str, sector_field: str, commune_field: str) -> Q:
        q = Q(**{f"{commune_field}__in": self.communes})
        if not self.all_cameras:
            q &= Q(**{f"{code_field}__in": self.camera_codes}) | Q(
                **{f"{sector_field}__in": self.sectors}
            )
        return q


@dataclass(frozen=True)
class Scope:
    """The cameras a person may use for one right at one time, as a filter."""

    grants: tuple[Grant, ...] = ()
    #: Only the cameras listed in the agreement with the Police nationale, within the above.
    agreement_only: bool = False

    @property
    def empty(self) -> bool:
        return all(grant.empty for grant in self.grants)

    def as_q(
        self,
        code_field: str = "code",
        sector_field: str = "sector",
        relay_field: str = "police_relay",
        commune_field: str = "commune_id",
    ) -> Q:
        if self.empty:
            return Q(pk__in=[])
        q = Q()
        for grant in self.grants:
            if not grant.empty:
                q |= grant.as_q(code_field, sector_field, commune_field)
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


def communes_reached(commune_id: int, at: datetime | None = None) -> frozenset[int]:
    """The communes whose cameras the agents of ``commune_id`` may see at ``at``: their own, and
    those of every convention in force that lists them among the viewing communes."""
    agreed = Agreement.objects.in_force(at or timezone.now()).filter(viewer_communes=commune_id)
    return frozenset(
        {commune_id}
        | set(Commune.objects.filter(agreements_as_cameras__in=agreed).values_list("pk", flat=True))
    )


def _commune_refusal(habilitation: Habilitation, camera: CameraLike, at: datetime | None) -> str:
    """Why the habilitation does not open this camera of another commune, "" when it does."""
    commune_id = getattr(camera, "commune_id", None)
    own = habilitation.commune_id
    if commune_id is None or own is None or commune_id == own:
        return ""
    if commune_id in communes_reached(own, at):
        return ""
    camera_commune = Commune.objects.filter(pk=commune_id).first()
    return _(
        "Cette caméra relève de la commune de %(camera)s : une habilitation de la commune de "
        "%(own)s ne l'ouvre qu'en vertu d'une convention intercommunale en vigueur, et "
        "aucune ne la liste."
    ) % {
        "camera": camera_commune.name if camera_commune else "?",
        "own": habilitation.commune.name,
    }


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
    other_commune = ""
    for habilitation in _candidate_habilitations(user, right, at):
        if habilitation.covers(camera.code, camera.sector):
            other_commune = _commune_refusal(habilitation, camera, at)
            if other_commune:
                continue
            untrained = training_refusal(user, at)
            if untrained:
                return Decision(False, untrained)
            return Decision(
                True,
                _("Habilitation %(ref)s.") % {"ref": habilitation.decision_reference},
                habilitation,
            )
    if other_commune:
        return Decision(False, other_commune)
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
    # The habilitations that reach the same communes pool their perimeters into one grant.
    reached: dict[int, frozenset[int]] = {}
    pooled: dict[frozenset[int], Grant] = {}
    for habilitation in _candidate_habilitations(user, right, at):
        if habilitation.commune_id not in reached:
            reached[habilitation.commune_id] = communes_reached(habilitation.commune_id, at)
        communes = reached[habilitation.commune_id]
        grant = pooled.get(communes, Grant(communes=communes))
        pooled[communes] = Grant(
            communes=communes,
            all_cameras=grant.all_cameras or habilitation.all_cameras,
            camera_codes=grant.camera_codes | set(habilitation.camera_codes),
            sectors=grant.sectors | set(habilitation.sectors),
        )
    return Scope(grants=tuple(pooled.values()), agreement_only=agreement_only)
