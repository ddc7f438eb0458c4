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
