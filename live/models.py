"""Live viewing sessions: one row per person watching one camera, from opening to closing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EndReason(models.TextChoices):
    CLOSED = "closed", _("Fermée par le poste")
    REVOKED = "revoked", _("Droit de visionnage retiré ou expiré")
    SIGNED_OUT = "signed_out", _("Session de connexion terminée")
    LOST = "lost", _("Processus de diffusion arrêté")


class ViewingSession(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("personne"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    camera = models.ForeignKey(
        "cameras.Camera", verbose_name=_("caméra"), on_delete=models.PROTECT, related_name="+"
    )
    habilitation = models.ForeignKey(
        "accounts.Habilitation",
        verbose_name=_("habilitation"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    #: Where the viewer was: the station's address as the server saw it, and its browser.
    station_ip = models.GenericIPAddressField(_("adresse du poste"), null=True, blank=True)
    station_agent = models.CharField(_("navigateur"), max_length=300, blank=True)
    started_at = models.DateTimeField(_("début"))
    #: Renewed while the stream runs; a session whose process died ends here.
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    end_reason = models.CharField(
        _("motif de fin"), max_length=20, choices=EndReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("session de visionnage en direct")
        verbose_name_plural = _("sessions de visionnage en direct")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["ended_at", "last_seen_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, end_reason="")
                | Q(ended_at__isnull=False, ended_at__gte=models.F("started_at"))
                & ~Q(end_reason=""),
                name="live_session_end_complete",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.camera_id} — {self.started_at:%Y-%m-%d %H:%M:%S}"


#: The wall's possible numbers of tiles.
WALL_SIZES = (1, 4, 9, 16)


class WallRoom(models.Model):
    """A place where a wall is watched (the control room, the Police nationale station…)."""

    name = models.CharField(
        _("nom"),
        max_length=80,
        unique=True,
        error_messages={"unique": _("Une salle porte déjà ce nom.")},
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("salle")
        verbose_name_plural = _("salles")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="live_room_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class WallLayout(models.Model):
    """A saved wall: a person's own layout, or a room's shared preset (room set, no owner).

    ``tiles`` holds one entry per tile, in order: ``{"camera": code or null, "tour": [codes],
    "seconds": interval or null}`` (a tour cycles its cameras in the tile; then no camera).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("personne"),
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
    )
    room = models.ForeignKey(
        WallRoom,
        verbose_name=_("salle"),
        on_delete=models.CASCADE,
        related_name="presets",
        null=True,
        blank=True,
    )
    name = models.CharField(_("nom"), max_length=80)
    size = models.PositiveSmallIntegerField(
        _("vignettes"), choices=[(n, str(n)) for n in WALL_SIZES]
    )
    tiles = models.JSONField(_("vignettes"), default=list)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("disposition du mur")
        verbose_name_plural = _("dispositions du mur")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, room__isnull=True)
                | Q(owner__isnull=True, room__isnull=False),
                name="live_layout_owner_or_room",
            ),
            models.CheckConstraint(condition=Q(size__in=WALL_SIZES), name="live_layout_size"),
            models.CheckConstraint(condition=~Q(name=""), name="live_layout_has_name"),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=Q(owner__isnull=False),
                name="live_layout_name_per_owner",
                violation_error_message=_("Vous avez déjà une disposition de ce nom."),
            ),
            models.UniqueConstraint(
                fields=["room", "name"],
                condition=Q(room__isnull=False),
                name="live_layout_name_per_room",
                violation_error_message=_("Cette salle a déjà un préréglage de ce nom."),
            ),
        ]

    def __str__(self) -> str:
        return self.name
