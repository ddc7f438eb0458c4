"""The recordings index: day keys, encrypted segments, gaps, and the recorders' leases."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera


class DataKey(models.Model):
    """One camera's data key for one day, wrapped by the master key (see recordings.crypto).

    Destroying a day's key (crypto-shredding) empties ``wrapped``: every copy of that day's
    media, backups included, becomes unreadable.
    """

    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="data_keys")
    day = models.DateField(_("jour"))
    key_id = models.CharField(_("identifiant de clé"), max_length=120, unique=True)
    wrapped = models.BinaryField(_("clé chiffrée"))
    master_fingerprint = models.CharField(_("empreinte de la clé maîtresse"), max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(_("détruite le"), null=True, blank=True)

    class Meta:
        verbose_name = _("clé du jour")
        verbose_name_plural = _("clés du jour")
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "day"],
                condition=Q(destroyed_at__isnull=True),
                name="one_live_key_per_camera_day",
            )
        ]

    def __str__(self) -> str:
        return self.key_id


class Segment(models.Model):
    class State(models.TextChoices):
        STORED = "stored", _("conservé")
        DESTROYED = "destroyed", _("détruit")

    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="segments")
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"))
    size = models.BigIntegerField(_("taille chiffrée (octets)"))
    sha256 = models.CharField(_("SHA-256 de l'objet stocké"), max_length=64)
    key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="segments")
    storage_path = models.CharField(_("chemin"), max_length=300, unique=True)
    codec = models.CharField(_("codec"), max_length=20)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frames = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=12, choices=State.choices, default=State.STORED)
    stored_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["camera", "started_at"]
        indexes = [
            models.Index(fields=["camera", "started_at"]),
            models.Index(fields=["ended_at"], condition=Q(state="stored"), name="segment_live_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="segment_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(size__gte=0), name="segment_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.camera.code} {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class Gap(models.Model):
    """A period without recording on a camera (stream lost, recorder stopped), with its cause."""

    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="recording_gaps")
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"), null=True, blank=True)
    reason = models.CharField(_("cause"), max_length=300)

    class Meta:
        ordering = ["camera", "started_at"]
        verbose_name = _("interruption")
        verbose_name_plural = _("interruptions")

    def __str__(self) -> str:
        return f"{self.camera.code} {self.started_at:%Y-%m-%d %H:%M:%S}"


class RecorderLease(models.Model):
    """Which recorder holds a camera, renewed while it records; a lapsed lease is taken over."""

    class State(models.TextChoices):
        RECORDING = "recording", _("enregistre")
        RECONNECTING = "reconnecting", _("reconnexion")
        STOPPED = "stopped", _("arrêté")
        ERROR = "error", _("erreur")

    camera = models.OneToOneField(Camera, on_delete=models.CASCADE, related_name="recorder_lease")
    holder = models.CharField(_("enregistreur"), max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.STOPPED)
    last_segment_at = models.DateTimeField(null=True, blank=True)
    bitrate = models.PositiveIntegerField(_("débit (bit/s)"), default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("bail d'enregistrement")
        verbose_name_plural = _("baux d'enregistrement")

    def __str__(self) -> str:
        return f"{self.camera.code} → {self.holder or '—'}"
