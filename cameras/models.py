"""The camera register: prefectoral authorizations, cameras, privacy masks and outages."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Commune, home_commune_id
from accounts.qualities import Quality, quality_label
from cameras.purposes import Purpose, purpose_label, validate_purposes

#: CSI L252-5: images are kept at most one month; the project's legal maximum is 30 days.
LEGAL_MAX_RETENTION_DAYS = 30
#: CSI L252-4: a prefectoral authorization is granted for five years.
AUTHORIZATION_YEARS = 5
#: Days before expiry at which an authorization raises an alert, widest first.
EXPIRY_ALERT_DAYS = (180, 90, 30)

STREAM_SCHEMES = ("rtsp", "http", "https", "file")


def validate_qualities(value: Any) -> None:
    """A list of at least one quality of people allowed to view, each known and listed once."""
    if not isinstance(value, list) or not value:
        raise ValidationError(
            _("Cochez au moins une qualité de personnes habilitées à visionner les images.")
        )
    unknown = [str(code) for code in value if code not in Quality.values]
    if unknown:
        raise ValidationError(
            _("Qualité inconnue : %(codes)s."), params={"codes": ", ".join(unknown)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Une qualité est listée deux fois."))


def five_years_after(day: date) -> date:
    try:
        return day.replace(year=day.year + AUTHORIZATION_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + AUTHORIZATION_YEARS, day=28)


def validate_stream_url(value: str) -> None:
    """A stream address this software can open: rtsp://, http(s):// or file://, well formed."""
    if not value or any(ch.isspace() for ch in value):
        raise ValidationError(
            _("Adresse de flux mal formée : elle ne doit contenir aucun espace."),
            code="malformed",
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(
            _("Adresse de flux mal formée : le port n'est pas un nombre entre 0 et 65535."),
            code="malformed",
        ) from None
    scheme = parts.scheme.lower()
    if not scheme or "://" not in value:
        raise ValidationError(
            _(
                "Adresse de flux mal formée : elle doit commencer par rtsp://, http://, "
                "https:// ou file://."
            ),
            code="malformed",
        )
    if scheme not in STREAM_SCHEMES:
        raise ValidationError(
            _(
                "Protocole « %(scheme)s » non pris en charge : utilisez rtsp://, http://, "
                "https:// ou file://."
            ),
            params={"scheme": scheme},
            code="unsupported_scheme",
        )
    if parts.username or parts.password:
        raise ValidationError(
            _("Les identifiants du flux se saisissent à part, pas dans l'adresse."),
            code="credentials_in_url",
        )
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValidationError(
                _("Adresse de fichier mal formée : écrivez file:///chemin/absolu/vers/video.mp4."),
                code="malformed",
            )
        return
    if not parts.hostname:
        raise ValidationError(
            _("Adresse de flux mal formée : le nom ou l'adresse IP de la caméra manque."),
            code="malformed",
        )
    if port == 0:
        raise ValidationError(
            _("Adresse de flux mal formée : le port 0 n'est pas utilisable."), code="malformed"
        )


#: A host name: dot-separated labels of letters, digits and inner hyphens.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def validate_host(value: str) -> None:
    """A device's network address: a host name or an IP address, without scheme or port."""
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if not _HOST_NAME.match(value or "") or value.replace(".", "").isdigit():
        raise ValidationError(
            _(
                "Adresse réseau mal formée : indiquez le nom ou l'adresse IP du boîtier, sans "
                "protocole, port ni chemin (par exemple 10.20.3.14)."
            ),
            code="malformed_host",
        )


def same_host(url: str, host: str) -> bool:
    """True when a stream address points at this host; a local file belongs to no machine."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return True
    return (parts.hostname or "").lower() == (host or "").lower()


CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    _("Le code ne contient que des lettres, chiffres, points, tirets et soulignés."),
)


class MaskMode(models.TextChoices):
    CAMERA = "camera", _("Appliqué par la caméra")
    SOFTWARE = "software", _("Appliqué par le logiciel")


def validate_polygons(value: Any) -> None:
    """A list of polygons, each with a mode and at least 3 points inside the image (0 to 1)."""
    if not isinstance(value, list):
        raise ValidationError(_("Les masques doivent être une liste de polygones."))
    for index, polygon in enumerate(value, start=1):
        if not isinstance(polygon, dict) or not isinstance(polygon.get("points"), list):
            raise ValidationError(
                _("Le polygone n° %(n)s doit avoir une liste de points."), params={"n": index}
            )
        if polygon.get("mode", MaskMode.SOFTWARE) not in MaskMode.values:
            raise ValidationError(
                _(
                    "Le polygone n° %(n)s a un mode inconnu : « camera » (appliqué par la "
                    "caméra) ou « software » (appliqué par le logiciel)."
                ),
                params={"n": index},
            )
        points = polygon["points"]
        if len(points) < 3:
            raise ValidationError(
                ngettext(
                    "Le polygone n° %(n)s a %(count)s point : il en faut au moins 3.",
                    "Le polygone n° %(n)s a %(count)s points : il en faut au moins 3.",
                    len(points),
                ),
                params={"n": index, "count": len(points)},
            )
        for rank, point in enumerate(points, start=1):
            if (
                not isinstance(point, list | tuple)
                or len(point) != 2
                or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
            ):
                raise ValidationError(
                    _("Le point %(p)s du polygone n° %(n)s doit être une paire [x, y]."),
                    params={"p": rank, "n": index},
                )
            if not all(0 <= c <= 1 for c in point):
                raise ValidationError(
                    _(
                        "Le point %(p)s du polygone n° %(n)s est hors de l'image : "
                        "x et y vont de 0 à 1."
                    ),
                    params={"p": rank, "n": index},
                )


class Authorization(models.Model):
    """An arrêté préfectoral authorizing a video protection system (CSI L252-1)."""

    number = models.CharField(
        _("numéro de l'arrêté"),
        max_length=80,
        unique=True,
        error_messages={"unique": _("Un arrêté portant ce numéro est déjà enregistré.")},
    )
    issued_on = models.DateField(_("date de l'arrêté"))
    expires_on = models.DateField(_("date d'expiration"))
    #: The CSI L251-2 purposes it allows (codes of ``Purpose``), in the article's order.
    purposes = models.JSONField(_("finalités"), default=list, validators=[validate_purposes])
    #: What the arrêté says of its purposes beyond the article's words (places, events...).
    purposes_details = models.TextField(_("précisions sur les finalités"), blank=True)
    #: The qualities of the people it allows to view images (CSI L252-2; codes of ``Quality``).
    qualities = models.JSONField(
        _("qualités des personnes habilitées à visionner"),
        default=list,
        validators=[validate_qualities],
    )
    perimeter = models.TextField(_("périmètre"))
    retention_days = models.PositiveSmallIntegerField(
        _("durée de conservation (jours)"),
        validators=[MinValueValidator(1), MaxValueValidator(LEGAL_MAX_RETENTION_DAYS)],
    )
    #: The widest alert threshold (days) already recorded, so that each alert is raised once.
    last_alert_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("autorisation préfectorale")
        verbose_name_plural = _("autorisations préfectorales")
        ordering = ["expires_on", "number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("issued_on")),
                name="authorization_expires_after_issue",
            ),
            models.CheckConstraint(
                condition=Q(retention_days__gte=1, retention_days__lte=LEGAL_MAX_RETENTION_DAYS),
                name="authorization_retention_legal",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        self.number = (self.number or "").strip()
        if self.issued_on and self.expires_on:
            if self.expires_on <= self.issued_on:
                raise ValidationError(
                    {"expires_on": _("La date d'expiration doit suivre la date de l'arrêté.")}
                )
            if self.expires_on > five_years_after(self.issued_on):
                raise ValidationError(
                    {
                        "expires_on": _(
                            "Une autorisation vaut au plus 5 ans : expiration au plus tard le "
                            "%(limit)s."
                        )
                        % {"limit": five_years_after(self.issued_on).strftime("%d/%m/%Y")}
                    }
                )

    def is_valid_on(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.issued_on <= day <= self.expires_on

    @property
    def purpose_labels(self) -> list[str]:
        """Its purposes in the article's words, in the article's order."""
        return [purpose_label(code) for code in Purpose.values if code in self.purposes]

    @property
    def quality_labels(self) -> list[str]:
        """The qualities it allows to view, in words, in the list's order."""
        return [quality_label(code) for code in Quality.values if code in self.qualities]

    def allows_purpose(self, purpose: str) -> bool:
        return purpose in self.purposes

    def allows_quality(self, quality: str | None) -> bool:
        return quality is not None and quality in self.qualities

    @property
    def is_valid(self) -> bool:
        return self.is_valid_on()

    @property
    def days_left(self) -> int:
        return (self.expires_on - timezone.localdate()).days

    @property
    def alert_days(self) -> int | None:
        """The narrowest alert threshold reached (180, 90, 30), 0 once expired, else None."""
        left = self.days_left
        if left < 0:
            return 0
        reached = [days for days in EXPIRY_ALERT_DAYS if left <= days]
        return min(reached) if reached else None


class CameraKind(models.TextChoices):
    DOME = "dome", _("Dôme")
    MULTISENSOR = "multisensor", _("Multicapteur")
    PTZ = "ptz", _("PTZ")
    FIXED = "fixed", _("Fixe")


class CameraStatus(models.TextChoices):
    ACTIVE = "active", _("En service")
    MAINTENANCE = "maintenance", _("En maintenance")
    OUT_OF_SERVICE = "out_of_service", _("Hors service")
    DECOMMISSIONED = "decommissioned", _("Déposée")


class HealthStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Non vérifiée")
    OK = "ok", _("Fonctionne")
    LOW_RATE = "low_rate", _("Débit d'images insuffisant")
    BLURRED = "blurred", _("Image floue")
    MOVED = "moved", _("Caméra déplacée")
    FROZEN = "frozen", _("Image figée")
    BLACK = "black", _("Image noire")
    UNREACHABLE = "unreachable", _("Injoignable")


#: Most severe first: the order of the health dashboard.
HEALTH_SEVERITY: dict[str, int] = {
    HealthStatus.UNREACHABLE: 7,
    HealthStatus.BLACK: 6,
    HealthStatus.FROZEN: 5,
    HealthStatus.MOVED: 4,
    HealthStatus.BLURRED: 3,
    HealthStatus.LOW_RATE: 2,
    HealthStatus.UNKNOWN: 1,
    HealthStatus.OK: 0,
}


class DeviceHealth(models.TextChoices):
    UNKNOWN = "unknown", _("Non vérifié")
    REACHABLE = "reachable", _("Joignable")
    UNREACHABLE = "unreachable", _("Boîtier injoignable")


class Device(models.Model):
    """One box on the network holding one or several sensors (a multi-sensor head).

    Its sensors share its address, its prefectoral authorization and its stream login; each
    sensor stays a :class:`Camera` for recording, masks, live and exports.
    """

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[CODE_VALIDATOR],
        error_messages={"unique": _("Un équipement porte déjà ce code.")},
    )
    name = models.CharField(_("nom"), max_length=200)
    host = models.CharField(_("adresse réseau"), max_length=253, validators=[validate_host])
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    authorization = models.ForeignKey(
        Authorization,
        verbose_name=_("autorisation préfectorale"),
        on_delete=models.PROTECT,
        related_name="devices",
        null=True,
        blank=True,
    )
    manufacturer = models.CharField(_("fabricant"), max_length=100, blank=True)
    model_name = models.CharField(_("modèle"), max_length=100, blank=True)
    #: Sealed with AES-GCM (cameras.secrets), bound to this device; never sent to any client.
    stream_credentials = models.TextField(blank=True, default="", editable=False)
    #: Derived from the sensors' health checks: the box answers when any sensor does.
    health_status = models.CharField(
        _("état du boîtier"),
        max_length=20,
        choices=DeviceHealth.choices,
        default=DeviceHealth.UNKNOWN,
    )
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(_("vu pour la dernière fois"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("équipement")
        verbose_name_plural = _("équipements")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(health_status__in=DeviceHealth.values),
                name="device_health_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def clean(self) -> None:
        self.host = (self.host or "").strip().lower()

    @property
    def has_credentials(self) -> bool:
        return bool(self.stream_credentials)


class Camera(models.Model):
    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[CODE_VALIDATOR],
        error_messages={"unique": _("Une caméra porte déjà ce code.")},
    )
    name = models.CharField(_("nom"), max_length=200)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
    )
    sector = models.CharField(_("secteur"), max_length=100)
    #: Whose camera it is: only the agents of this commune, and of the communes a convention in
    #: force lists, may see its images (accounts.access decides).
    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="cameras",
        default=home_commune_id,
    )
    kind = models.CharField(_("type"), max_length=20, choices=CameraKind.choices)
    infrared = models.BooleanField(_("infrarouge"), default=False)
    commissioned_on = models.DateField(_("mise en service"), null=True, blank=True)
    status = models.CharField(
        _("statut"), max_length=20, choices=CameraStatus.choices, default=CameraStatus.ACTIVE
    )
    retention_days = models.PositiveSmallIntegerField(
        _("durée de conservation (jours)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(LEGAL_MAX_RETENTION_DAYS)],
    )
    authorization = models.ForeignKey(
        Authorization,
        verbose_name=_("autorisation préfectorale"),
        on_delete=models.PROTECT,
        related_name="cameras",
        null=True,
        blank=True,
    )
    #: The box this camera is a sensor of; a single-sensor camera needs none.
    device = models.ForeignKey(
        Device,
        verbose_name=_("équipement"),
        on_delete=models.PROTECT,
        related_name="sensors",
        null=True,
        blank=True,
    )
    #: Listed in the city's agreement with the Police nationale: its remote station may watch
    #: this camera live, and no other (accounts.access decides).
    police_relay = models.BooleanField(
        _("listée dans la convention avec la Police nationale"),
        default=False,
        help_text=_(
            "Le poste déporté de la Police nationale ne voit en direct que les caméras listées "
            "dans la convention, dans la limite de ses habilitations."
        ),
    )
    stream_url = models.CharField(
        _("adresse du flux"), max_length=500, validators=[validate_stream_url]
    )
    #: The camera's low-resolution sub-stream for live viewing (same device, same login as the
    #: main stream); without one, live uses the main stream scaled down.
    live_stream_url = models.CharField(
        _("adresse du flux de direct"),
        max_length=500,
        blank=True,
        default="",
        validators=[validate_stream_url],
    )
    #: Sealed with AES-GCM (cameras.secrets); never sent back to any client.
    stream_credentials = models.TextField(blank=True, default="", editable=False)
    expected_fps = models.PositiveSmallIntegerField(
        _("images par seconde attendues"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    #: Since when the camera is neither recorded nor shown live for want of an authorization in
    #: force (CSI L252-1); None while it has one. Set and cleared by
    #: cameras.services.recording_authorizations_sync, each change audited once.
    unauthorized_since = models.DateTimeField(
        _("arrêtée faute d'autorisation depuis"), null=True, blank=True, editable=False
    )
    health_status = models.CharField(
        _("état"), max_length=20, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN
    )
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    health_detail = models.JSONField(default=dict, blank=True, editable=False)
    #: The camera's clock against the recorder's arrival clock, as last measured from its
    #: stream (recordings.clock): camera minus arrival, in milliseconds; and since when it is
    #: off by more than CSU_CAMERA_MAX_DRIFT_MS (None while it is not).
    clock_offset_ms = models.FloatField(
        _("écart de l'horloge de la caméra (ms)"), null=True, blank=True, editable=False
    )
    clock_measured_at = models.DateTimeField(
        _("horloge mesurée le"), null=True, blank=True, editable=False
    )
    clock_alert_since = models.DateTimeField(
        _("horloge en alerte depuis"), null=True, blank=True, editable=False
    )
    #: A small grey, masked picture of the normal view, to detect a displaced camera.
    reference_image = models.BinaryField(null=True, blank=True, editable=False)
    reference_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("caméra")
        verbose_name_plural = _("caméras")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(retention_days__gte=1, retention_days__lte=LEGAL_MAX_RETENTION_DAYS),
                name="camera_retention_legal",
            ),
            models.CheckConstraint(
                condition=Q(health_status__in=HealthStatus.values),
                name="camera_health_status_valid",
            ),
        ]

    #: Set on the cameras a page lists, for its template: the warnings (selectors.camera_flags)
    #: and, on the health board, when the open outage began (selectors.open_outage_started).
    flags: list[str]
    down_since: datetime | None
    #: Set by cameras.services.camera_update: the lowering of the retention it asked for.
    retention_request: RetentionChange | None

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def clean(self) -> None:
        self.sector = (self.sector or "").strip()
        if self.device is not None:
            self._clean_sensor(self.device)
        authorization = self.authorization if self.authorization_id else None
        if (
            authorization is not None
            and self.retention_days
            and self.retention_days > authorization.retention_days
        ):
            raise ValidationError(
                {
                    "retention_days": _(
                        "La conservation ne peut dépasser celle de l'autorisation %(number)s "
                        "(%(days)s jours)."
                    )
                    % {
                        "number": authorization.number,
                        "days": authorization.retention_days,
                    }
                }
            )

    def _clean_sensor(self, device: Device) -> None:
        """A sensor takes its device's authorization and address, and is reached at its host."""
        if self.authorization_id is None:
            self.authorization = device.authorization
        elif self.authorization_id != device.authorization_id:
            number = device.authorization.number if device.authorization else _("aucune")
            raise ValidationError(
                {
                    "authorization": _(
                        "Un capteur relève de l'autorisation de son équipement %(device)s "
                        "(%(number)s) : il ne peut pas en porter une autre."
                    )
                    % {
                        "device": device.code,
                        "number": number,
                    }
                }
            )
        if not self.address:
            self.address = device.address
        errors = {}
        for name in ("stream_url", "live_stream_url"):
            url = getattr(self, name)
            if url and not same_host(url, device.host):
                errors[name] = _(
                    "Un capteur de l'équipement %(device)s se joint à l'adresse du boîtier "
                    "(%(host)s) : cette adresse vise une autre machine."
                ) % {"device": device.code, "host": device.host}
        if errors:
            raise ValidationError(errors)

    @property
    def has_credentials(self) -> bool:
        return bool(self.stream_credentials)

    @property
    def scheme(self) -> str:
        return urlsplit(self.stream_url).scheme.lower()

    @property
    def authorization_valid(self) -> bool:
        return self.authorization is not None and self.authorization.is_valid

    def authorization_refusal(self, day: date | None = None) -> str:
        """Why the camera may be neither recorded nor shown live on ``day`` (today by default),
        in words; "" when its prefectoral authorization is in force (CSI L252-1, L254-1)."""
        day = day or timezone.localdate()
        authorization = self.authorization if self.authorization_id else None
        if authorization is None:
            return str(_("Aucune autorisation préfectorale."))
        if day < authorization.issued_on:
            return str(
                _("Autorisation %(number)s en vigueur à partir du %(day)s.")
                % {
                    "number": authorization.number,
                    "day": authorization.issued_on.strftime("%d/%m/%Y"),
                }
            )
        if day > authorization.expires_on:
            return str(
                _("Autorisation %(number)s expirée le %(day)s.")
                % {
                    "number": authorization.number,
                    "day": authorization.expires_on.strftime("%d/%m/%Y"),
                }
            )
        return ""

    def purpose_refusal(self, purpose: str) -> str:
        """Why the camera's images may not be used for the L251-2 ``purpose``, in words; ""
        when its authorization lists it (CSI L251-2, L252-1)."""
        authorization = self.authorization if self.authorization_id else None
        if authorization is None:
            return str(
                _("La caméra %(code)s ne relève d'aucune autorisation préfectorale.")
                % {"code": self.code}
            )
        if authorization.allows_purpose(purpose):
            return ""
        return str(
            _(
                "La finalité « %(purpose)s » n'est pas autorisée pour la caméra %(code)s par "
                "l'arrêté %(number)s."
            )
            % {
                "purpose": purpose_label(purpose) or purpose,
                "code": self.code,
                "number": authorization.number,
            }
        )

    def quality_refusal(self, quality: str | None) -> str:
        """Why a person of ``quality`` may not view this camera's images, in words; "" when
        its authorization lists that quality, or when it has none (nothing is shown then)."""
        authorization = self.authorization if self.authorization_id else None
        if authorization is None or authorization.allows_quality(quality):
            return ""
        return str(
            _(
                "L'arrêté %(number)s ne permet pas aux « %(quality)s » de visionner les images "
                "de la caméra %(code)s."
            )
            % {
                "number": authorization.number,
                "quality": quality_label(quality),
                "code": self.code,
            }
        )

    def current_mask(self) -> PrivacyMask | None:
        return self.mask_versions.order_by("-version").first()


class PrivacyMask(models.Model):
    """One version of a camera's privacy masks (CSI L251-3); a change adds a version."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="mask_versions")
    version = models.PositiveIntegerField(_("version"))
    polygons = models.JSONField(
        _("polygones"), default=list, blank=True, validators=[validate_polygons]
    )
    note = models.CharField(_("commentaire"), max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("enregistré le"), default=timezone.now)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("validé par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    validated_at = models.DateTimeField(_("validé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("masque de confidentialité")
        verbose_name_plural = _("masques de confidentialité")
        ordering = ["camera", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["camera", "version"], name="mask_version_unique"),
            models.CheckConstraint(
                condition=Q(validated_at__isnull=True, validated_by__isnull=True)
                | Q(validated_at__isnull=False, validated_by__isnull=False),
                name="mask_validation_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera.code} v{self.version}"

    @property
    def outlines(self) -> list[tuple[str, str]]:
        """Each polygon's mode and SVG ``points`` (0-1 box): the masks drawn without the image."""
        return [
            (
                str(p.get("mode", MaskMode.SOFTWARE)),
                " ".join(f"{x:g},{y:g}" for x, y in p.get("points", [])),
            )
            for p in self.polygons
        ]

    @property
    def software_polygons(self) -> list[list[list[float]]]:
        return [
            p["points"] for p in self.polygons if p.get("mode", MaskMode.SOFTWARE) == "software"
        ]


class CameraOutage(models.Model):
    """A period during which a camera was not working normally (availability statistics)."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="outages")
    status = models.CharField(_("état"), max_length=20, choices=HealthStatus.choices)
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("panne de caméra")
        verbose_name_plural = _("pannes de caméra")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera"], condition=Q(ended_at__isnull=True), name="one_open_outage"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="outage_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera.code} {self.status} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.ended_at or timezone.now()) - self.started_at


class RetentionChange(models.Model):
    """A lowering of a camera's retention, asked by a manager, in force once the DPO validates.

    Footage recorded before the validation keeps the longer retention it was recorded under
    (cameras.retention.retention_periods); a raise destroys nothing and applies at once, without
    a change request.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("en attente de validation")
        VALIDATED = "validated", _("validée")
        REFUSED = "refused", _("refusée")

    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="retention_changes")
    old_days = models.PositiveSmallIntegerField(_("durée en vigueur (jours)"))
    new_days = models.PositiveSmallIntegerField(_("durée demandée (jours)"))
    reason = models.CharField(_("motif de la demande"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demandée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    state = models.CharField(_("état"), max_length=20, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("décidée par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    decision_note = models.CharField(_("motif de la décision"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("changement de durée de conservation")
        verbose_name_plural = _("changements de durée de conservation")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera"],
                condition=Q(state="pending"),
                name="one_pending_retention_change",
            ),
            models.CheckConstraint(
                condition=Q(new_days__lt=models.F("old_days"), new_days__gte=1),
                name="retention_change_lowers",
            ),
            models.CheckConstraint(
                condition=Q(state="pending", decided_at__isnull=True, decided_by__isnull=True)
                | Q(
                    state__in=["validated", "refused"],
                    decided_at__isnull=False,
                    decided_by__isnull=False,
                ),
                name="retention_change_decision_complete",
            ),
        ]
        indexes = [models.Index(fields=["camera", "state", "decided_at"])]

    def __str__(self) -> str:
        return f"{self.camera.code} {self.old_days} → {self.new_days} j ({self.state})"


class AuthorizationAlert(models.Model):
    """An expiry alert of a prefectoral authorization, a task for the room's supervisors: renew
    the arrêté préfectoral (CSI L252-4) before the cameras it covers stop being recorded.

    One per authorization, expiry date and threshold (180, 90, 30 days before; 0 once expired).
    It is open until a supervisor or an administrator acknowledges it, or until it is
    superseded: by the next, narrower threshold (a new alert, open again whatever was
    acknowledged before), or by a change of the authorization's end date (a renewal), or when
    the authorization covers no camera any more (replaced by another arrêté).
    """

    class Supersession(models.TextChoices):
        NARROWER = "narrower", _("remplacée par une échéance plus proche")
        RENEWED = "renewed", _("échéance de l'autorisation modifiée")
        REPLACED = "replaced", _("autorisation ne couvrant plus aucune caméra")

    authorization = models.ForeignKey(
        Authorization,
        verbose_name=_("autorisation préfectorale"),
        on_delete=models.PROTECT,
        related_name="expiry_alerts",
    )
    #: Days before expiry at which it was raised: one of EXPIRY_ALERT_DAYS, or 0 (expired).
    threshold = models.PositiveSmallIntegerField(_("seuil (jours)"))
    #: The end date the alert was raised for (a renewal changes the authorization's).
    expires_on = models.DateField(_("date d'expiration"))
    raised_at = models.DateTimeField(_("levée le"))
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prise en compte par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    acknowledgement_note = models.CharField(
        _("note de prise en compte"), max_length=500, blank=True
    )
    superseded_at = models.DateTimeField(_("close le"), null=True, blank=True)
    superseded_reason = models.CharField(
        _("motif de clôture"), max_length=20, choices=Supersession.choices, blank=True
    )

    class Meta:
        verbose_name = _("alerte d'échéance d'autorisation")
        verbose_name_plural = _("alertes d'échéance d'autorisation")
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["authorization", "expires_on", "threshold"],
                name="authorization_alert_once_per_threshold",
            ),
            models.CheckConstraint(
                condition=Q(threshold__in=[*EXPIRY_ALERT_DAYS, 0]),
                name="authorization_alert_threshold_known",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="authorization_alert_acknowledgement_complete",
            ),
            models.CheckConstraint(
                condition=Q(superseded_at__isnull=True, superseded_reason="")
                | (Q(superseded_at__isnull=False) & ~Q(superseded_reason="")),
                name="authorization_alert_supersession_complete",
            ),
        ]
        indexes = [models.Index(fields=["acknowledged_at", "superseded_at"])]

    def __str__(self) -> str:
        return f"{self.authorization_id} J-{self.threshold} ({self.expires_on})"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None and self.superseded_at is None

    @property
    def state(self) -> str:
        """'open', 'acknowledged' or 'superseded' (a superseded alert may have been
        acknowledged first: it is closed either way)."""
        if self.superseded_at is not None:
            return "superseded"
        return "acknowledged" if self.acknowledged_at is not None else "open"

    @property
    def days_left(self) -> int:
        """Days from today (Paris) to the end date it was raised for; negative once past."""
        return (self.expires_on - timezone.localdate()).days
