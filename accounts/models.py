"""People, their services, their communes and their habilitations."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.qualities import Quality, quality_of
from accounts.roles import Role


class Service(models.Model):
    """A unit whose officers share requisitions: a commissariat, a brigade, a parquet."""

    class Kind(models.TextChoices):
        POLICE_NATIONALE = "police_nationale", _("Police nationale")
        GENDARMERIE = "gendarmerie", _("Gendarmerie nationale")
        POLICE_MUNICIPALE = "police_municipale", _("Police municipale")
        PARQUET = "parquet", _("Parquet / juridiction")
        CSU = "csu", _("Centre de supervision urbain")
        DOUANES = "douanes", _("Douanes")
        SDIS = "sdis", _("Service d'incendie et de secours")
        AUTRE = "autre", _("Autre")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=200, unique=True)
    kind = models.CharField(_("nature"), max_length=32, choices=Kind.choices)
    email = models.EmailField(_("courriel"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name


#: A commune's code in the Code officiel géographique: five digits, or 2A/2B and three digits.
INSEE_VALIDATOR = RegexValidator(
    r"^(?:\d{5}|2[AB]\d{3})$",
    _(
        "Le code INSEE d'une commune compte cinq caractères : cinq chiffres, ou 2A ou 2B suivi "
        "de trois chiffres en Corse (par exemple 73065)."
    ),
    code="insee",
)


class Commune(models.Model):
    """A commune whose cameras the CSU runs, or whose agents it habilitates.

    An intercommunal CSU serves several: an agent sees the cameras of their own commune, and
    another's only while a convention in force lists it (CC 2021-817 DC).
    """

    name = models.CharField(_("nom"), max_length=150)
    insee_code = models.CharField(
        _("code INSEE"),
        max_length=5,
        unique=True,
        validators=[INSEE_VALIDATOR],
        error_messages={"unique": _("Une commune porte déjà ce code INSEE.")},
    )
    created_at = models.DateTimeField(_("enregistrée le"), auto_now_add=True)

    class Meta:
        ordering = ["name", "insee_code"]
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        constraints = [
            models.CheckConstraint(
                condition=Q(insee_code__regex=r"^([0-9]{5}|2[AB][0-9]{3})$"),
                name="commune_insee_code_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.insee_code})"

    def clean(self) -> None:
        self.name = (self.name or "").strip()


def home_commune() -> Commune:
    """The commune that runs the CSU (settings ``HOME_COMMUNE_*``), recorded at first use."""
    commune, _created = Commune.objects.get_or_create(
        insee_code=settings.HOME_COMMUNE_INSEE, defaults={"name": settings.HOME_COMMUNE_NAME}
    )
    return commune


def home_commune_id() -> int:
    """The default commune of a camera or a habilitation recorded without one."""
    return home_commune().pk


class AgreementQuerySet(models.QuerySet["Agreement"]):
    def in_force(self, at: datetime) -> AgreementQuerySet:
        """The conventions in force at ``at``: within their dates (Paris days), not ended."""
        day = timezone.localdate(at)
        return self.filter(valid_from__lte=day).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day),
            Q(ended_at__isnull=True) | Q(ended_at__gt=at),
        )


class AgreementState(models.TextChoices):
    UPCOMING = "upcoming", _("Pas encore en vigueur")
    IN_FORCE = "in_force", _("En vigueur")
    EXPIRED = "expired", _("Arrivée à échéance")
    ENDED = "ended", _("Terminée")


class Agreement(models.Model):
    """A convention between communes putting their video protection in common: the agents of
    the communes it lists may view the cameras of the communes it lists, while it is in force."""

    reference = models.CharField(
        _("référence"),
        max_length=100,
        unique=True,
        error_messages={"unique": _("Une convention porte déjà cette référence.")},
    )
    title = models.CharField(_("objet"), max_length=300)
    signed_on = models.DateField(_("signée le"))
    signed_by = models.TextField(
        _("signataires"), help_text=_("Par exemple : les maires des communes parties.")
    )
    valid_from = models.DateField(_("en vigueur du"))
    valid_until = models.DateField(_("en vigueur jusqu'au"), null=True, blank=True)
    viewer_communes = models.ManyToManyField(
        Commune,
        verbose_name=_("communes dont les agents visionnent"),
        related_name="agreements_as_viewer",
    )
    camera_communes = models.ManyToManyField(
        Commune,
        verbose_name=_("communes dont les caméras sont visionnées"),
        related_name="agreements_as_cameras",
    )
    created_at = models.DateTimeField(_("enregistrée le"), auto_now_add=True)
    created_by = models.ForeignKey(
        "User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(_("fin anticipée le"), null=True, blank=True)
    ended_by = models.ForeignKey(
        "User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.TextField(_("motif de la fin"), blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from", "reference"]
        verbose_name = _("convention intercommunale")
        verbose_name_plural = _("conventions intercommunales")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="agreement_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | ~Q(end_reason=""),
                name="agreement_end_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def clean(self) -> None:
        self.reference = (self.reference or "").strip()
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError(
                {"valid_until": _("La fin de la convention précède son entrée en vigueur.")}
            )

    def state_at(self, at: datetime) -> AgreementState:
        """Its state at ``at``: the dates are Paris days, an early end takes effect at once."""
        day = timezone.localdate(at)
        if self.ended_at is not None and self.ended_at <= at:
            return AgreementState.ENDED
        if day < self.valid_from:
            return AgreementState.UPCOMING
        if self.valid_until is not None and day > self.valid_until:
            return AgreementState.EXPIRED
        return AgreementState.IN_FORCE

    def in_force_at(self, at: datetime) -> bool:
        return self.state_at(at) == AgreementState.IN_FORCE


class User(AbstractUser):
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    #: Matricule (RIO for police officers, NIGEND for gendarmes, employee number otherwise).
    badge_number = models.CharField(_("matricule"), max_length=40, blank=True)
    #: Set when an administrator chose the password: the person replaces it before anything else.
    must_change_password = models.BooleanField(_("mot de passe à changer"), default=False)
    #: Whether the second factor was checked in this session: django_otp's middleware sets it
    #: on the request's user (``OTPMiddleware``), so only signed-in requests' users have it.
    is_verified: Callable[[], bool]

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            # OPJs belong to a service: it decides which requisitions they see.
            models.CheckConstraint(
                condition=~Q(role=Role.OPJ) | Q(service__isnull=False), name="opj_has_service"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def requires_second_factor(self) -> bool:
        return self.role in settings.OTP_REQUIRED_ROLES

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def quality(self) -> Quality | None:
        """The quality in which the person may view images (accounts.qualities)."""
        return quality_of(self)


#: A valid habilitation ending within this many days is shown as expiring.
EXPIRY_WARNING_DAYS = 30


class HabilitationState(models.TextChoices):
    VALID = "valid", _("En cours de validité")
    EXPIRING = "expiring", _("Expire sous 30 jours")
    UPCOMING = "upcoming", _("Pas encore valable")
    EXPIRED = "expired", _("Expirée")
    REVOKED = "revoked", _("Retirée")


class HabilitationQuerySet(models.QuerySet["Habilitation"]):
    def valid_on(self, day: date) -> HabilitationQuerySet:
        return self.filter(revoked_at__isnull=True, valid_from__lte=day, valid_until__gte=day)

    def in_state(self, state: str, day: date) -> HabilitationQuerySet:
        """Habilitations in ``state`` on ``day`` ("valid" includes those expiring soon)."""
        live = self.filter(revoked_at__isnull=True)
        if state == HabilitationState.VALID:
            return self.valid_on(day)
        if state == HabilitationState.EXPIRING:
            return self.valid_on(day).filter(
                valid_until__lte=day + timedelta(days=EXPIRY_WARNING_DAYS)
            )
        if state == HabilitationState.UPCOMING:
            return live.filter(valid_from__gt=day)
        if state == HabilitationState.EXPIRED:
            return live.filter(valid_until__lt=day)
        if state == HabilitationState.REVOKED:
            return self.filter(revoked_at__isnull=False)
        raise ValueError(f"unknown habilitation state {state!r}")


class Habilitation(models.Model):
    """An individual designation to see images (CSI L252-2, L252-3)."""

    user = models.ForeignKey(
        User, verbose_name=_("personne"), on_delete=models.PROTECT, related_name="habilitations"
    )
    #: The commune of the holder's employer: its cameras, and those of the communes a convention
    #: in force opens to its agents, are the only ones the habilitation can open.
    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="habilitations",
        default=home_commune_id,
        help_text=_(
            "La commune qui emploie la personne (pour un agent de l'État, celle qui lui ouvre "
            "ses images). Les caméras d'une autre commune ne s'ouvrent qu'en vertu d'une "
            "convention intercommunale en vigueur."
        ),
    )
    decision_reference = models.CharField(_("référence de la décision"), max_length=100)
    issuer = models.CharField(_("autorité de délivrance"), max_length=200)
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    all_cameras = models.BooleanField(_("toutes les caméras"), default=False)
    sectors = models.JSONField(_("secteurs"), default=list, blank=True)
    camera_codes = models.JSONField(_("caméras"), default=list, blank=True)
    can_live = models.BooleanField(_("direct"), default=False)
    can_replay = models.BooleanField(_("relecture"), default=False)
    can_extract = models.BooleanField(_("extraction"), default=False)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("retirée le"), null=True, blank=True)
    revocation_reason = models.TextField(_("motif du retrait"), blank=True)

    objects = HabilitationQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_until"]
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="habilitation_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(can_live=True) | Q(can_replay=True) | Q(can_extract=True),
                name="habilitation_grants_a_right",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision_reference} — {self.user}"

    @property
    def rights(self) -> list[str]:
        granted = [
            ("live", self.can_live),
            ("replay", self.can_replay),
            ("extract", self.can_extract),
        ]
        return [name for name, on in granted if on]

    def state_on(self, day: date) -> HabilitationState:
        if self.revoked_at:
            return HabilitationState.REVOKED
        if day < self.valid_from:
            return HabilitationState.UPCOMING
        if day > self.valid_until:
            return HabilitationState.EXPIRED
        if self.valid_until <= day + timedelta(days=EXPIRY_WARNING_DAYS):
            return HabilitationState.EXPIRING
        return HabilitationState.VALID

    @property
    def state(self) -> HabilitationState:
        return self.state_on(timezone.localdate())

    def person_training_on(self, day: date) -> date | None:
        """The holder's latest training held by ``day`` (from prefetched trainings if any)."""
        held = [t.held_on for t in self.user.trainings.all() if t.held_on <= day]
        return max(held, default=None)

    @property
    def training_text(self) -> str:
        """The holder's training as shown with the habilitation: its date and its state."""
        today = timezone.localdate()
        held_on = self.person_training_on(today)
        state = training_state(held_on, today)
        if held_on is None:
            return str(state.label)
        return f"{held_on:%d/%m/%Y} — {state.label}"

    def covers(self, camera_code: str, sector: str) -> bool:
        return (
            self.all_cameras
            or camera_code in self.camera_codes
            or (bool(sector) and sector in self.sectors)
        )


class Training(models.Model):
    """A training session followed by a person (CSI L255-1): held by the person, not by one of
    their habilitations, so that a new decision does not lose it and a refresher renews them all."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Formation initiale")
        REFRESHER = "refresher", _("Recyclage")

    user = models.ForeignKey(
        User, verbose_name=_("personne"), on_delete=models.PROTECT, related_name="trainings"
    )
    held_on = models.DateField(_("date de la formation"))
    kind = models.CharField(_("nature"), max_length=16, choices=Kind.choices, default=Kind.INITIAL)
    title = models.CharField(_("intitulé"), max_length=200, blank=True)
    organisation = models.CharField(_("organisme ou formateur"), max_length=200, blank=True)
    attestation_reference = models.CharField(
        _("référence de l'attestation"), max_length=100, blank=True
    )
    recorded_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: The smallest reminder threshold (days before it lapses) already sent for this training.
    reminded_at_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("formation")
        verbose_name_plural = _("formations")
        indexes = [models.Index(fields=["user", "-held_on"], name="training_user_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.held_on:%Y-%m-%d} — {self.user}"


#: A training that lapses within this many days shows as expiring soon.
TRAINING_WARNING_DAYS = 60


class TrainingState(models.TextChoices):
    VALID = "valid", _("formation à jour")
    EXPIRING = "expiring", _("formation bientôt échue")
    EXPIRED = "expired", _("formation échue")
    NONE = "none", _("aucune formation")


def training_expires_on(held_on: date | None) -> date | None:
    """The last day a training held on ``held_on`` counts, None when it never lapses."""
    validity = settings.TRAINING_VALIDITY_DAYS
    if held_on is None or not validity:
        return None
    return held_on + timedelta(days=validity)


def training_state(held_on: date | None, day: date) -> TrainingState:
    """The state on ``day`` of a person whose latest training was held on ``held_on``."""
    if held_on is None or held_on > day:
        return TrainingState.NONE
    expires = training_expires_on(held_on)
    if expires is None:
        return TrainingState.VALID
    if expires < day:
        return TrainingState.EXPIRED
    if expires <= day + timedelta(days=TRAINING_WARNING_DAYS):
        return TrainingState.EXPIRING
    return TrainingState.VALID


def latest_training_on(user: User, day: date) -> date | None:
    """The date of the person's latest training held by ``day``."""
    return (
        Training.objects.filter(user=user, held_on__lte=day)
        .order_by("-held_on")
        .values_list("held_on", flat=True)
        .first()
    )


def token_digest(key: str) -> str:
    """What is stored of an API token: its SHA-256 (the token itself is random, 256 bits)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def for_key(self, key: str) -> ApiTokenQuerySet:
        return self.filter(digest=token_digest(key))


class ApiToken(models.Model):
    """An API token, kept only as a digest: a copy of the database gives no usable token."""

    user = models.ForeignKey(
        User, verbose_name=_("personne"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(_("empreinte"), max_length=64, unique=True)
    created = models.DateTimeField(_("délivré le"), default=timezone.now)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")

    def __str__(self) -> str:
        return f"{self.user} — {self.created:%Y-%m-%d %H:%M}"

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)
