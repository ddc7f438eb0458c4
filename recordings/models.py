"""The recordings index: day keys, encrypted segments, gaps, and the recorders' leases."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera


class KeyEncryptionKey(models.Model):
    """A key-encryption key (KEK): it wraps the day keys of one period of days and one retention,
    or, for ``holds``, the day keys of held footage moved there before their period's KEK went.

    Its material is never in the database: it lives in the key store (recordings.keystore),
    wrapped by the master key. Once destroyed (objects deleted from the key store), the day keys
    it wrapped stay unreadable in every database backup too.
    """

    class Kind(models.TextChoices):
        PERIOD = "period", _("période")
        HOLDS = "holds", _("images gelées")

    name = models.CharField(_("nom"), max_length=80, unique=True)
    kind = models.CharField(_("nature"), max_length=8, choices=Kind.choices)
    #: Days [period_start, period_end) whose day keys it wraps (for ``holds``: the days during
    #: which held day keys were moved under it).
    period_start = models.DateField(_("début de période"))
    period_end = models.DateField(_("fin de période"))
    #: The cameras' retention (days) when their day keys were wrapped; 0 for ``holds``.
    retention_days = models.PositiveSmallIntegerField(_("durée de conservation (jours)"))
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    destroyed_at = models.DateTimeField(_("détruite le"), null=True, blank=True)
    run = models.ForeignKey(
        "PurgeRun",
        verbose_name=_("passage de la purge"),
        on_delete=models.PROTECT,
        related_name="destroyed_keks",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("clé de période")
        verbose_name_plural = _("clés de période")
        ordering = ["period_start", "kind", "retention_days"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start", "retention_days"],
                condition=Q(destroyed_at__isnull=True),
                name="one_live_kek_per_period",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="kek_period_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def last_day(self) -> date:
        """The last day of the period (``period_end`` is excluded)."""
        return self.period_end - timedelta(days=1)


class DataKey(models.Model):
    """One camera's data key for one day, wrapped by its period's key-encryption key (``kek``),
    or directly by the master key for keys made before KEKs existed (``kek`` empty).

    Destroying a day's key (crypto-shredding) empties ``wrapped``; destroying its KEK makes the
    copies of ``wrapped`` in database backups useless as well.
    """

    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="data_keys")
    day = models.DateField(_("jour"))
    key_id = models.CharField(_("identifiant de clé"), max_length=120, unique=True)
    wrapped = models.BinaryField(_("clé chiffrée"))
    #: Fingerprint of the key that wrapped it: its KEK, or the master key when ``kek`` is empty.
    master_fingerprint = models.CharField(_("empreinte de la clé maîtresse"), max_length=16)
    kek = models.ForeignKey(
        KeyEncryptionKey,
        verbose_name=_("clé de période"),
        on_delete=models.PROTECT,
        related_name="day_keys",
        null=True,
        blank=True,
    )
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
    #: The camera's clock during this segment, measured from its stream (recordings.clock):
    #: camera minus arrival in milliseconds, and how ("rtcp": the camera's RTCP sender reports;
    #: "stream": its timestamps' progression since the connection opened). Null when the stream
    #: carries no usable time (MJPEG).
    clock_offset_ms = models.FloatField(
        _("écart de l'horloge de la caméra (ms)"), null=True, blank=True
    )
    clock_source = models.CharField(_("mesure de l'horloge"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["camera", "started_at"]
        indexes = [
            models.Index(fields=["camera", "started_at"]),
            models.Index(fields=["ended_at"], condition=Q(state="stored"), name="segment_live_end"),
            # The purge walks each camera's live segments by end time (recordings.purge).
            models.Index(
                fields=["camera", "ended_at"],
                condition=Q(state="stored"),
                name="segment_live_camera_end",
            ),
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


# --- Retention: holds, purge runs, destruction register -----------------------------------------


class Hold(models.Model):
    """Gel des images: segments of ``camera`` overlapping the window survive the purge."""

    class Basis(models.TextChoices):
        REQUISITION = "requisition", _("Réquisition judiciaire")
        ACCESS_REQUEST = "access_request", _("Demande d'accès")
        MANUAL = "manual", _("Gel manuel")

    camera = models.ForeignKey(
        Camera, verbose_name=_("caméra"), on_delete=models.PROTECT, related_name="holds"
    )
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    basis = models.CharField(_("fondement"), max_length=20, choices=Basis.choices)
    reason = models.CharField(_("motif"), max_length=300)
    #: What the hold is for, named generically so that later features can point at their rows.
    reference_type = models.CharField(_("type de référence"), max_length=64, blank=True)
    reference_id = models.CharField(_("référence"), max_length=64, blank=True)
    reference_label = models.CharField(_("libellé de la référence"), max_length=200, blank=True)
    justification = models.TextField(_("justification écrite"), blank=True)
    #: A manual hold's procedure or case number (blank only on holds placed before it was asked).
    case_reference = models.CharField(
        _("référence de procédure ou de dossier"), max_length=100, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placé par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_by_name = models.CharField(_("placé par"), max_length=300)
    created_at = models.DateTimeField(_("placé le"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expire le"))
    released_at = models.DateTimeField(_("levé le"), null=True, blank=True)
    released_by_name = models.CharField(_("levé par"), max_length=300, blank=True)
    release_reason = models.CharField(_("motif de la levée"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("gel des images")
        verbose_name_plural = _("gels des images")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["camera", "starts_at", "ends_at"],
                condition=Q(released_at__isnull=True),
                name="hold_live_window",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="hold_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="hold_expires_after_creation"
            ),
            models.CheckConstraint(
                condition=~Q(basis="manual") | ~Q(justification=""),
                name="manual_hold_justified",
            ),
            models.CheckConstraint(
                condition=Q(basis="manual") | ~Q(reference_id=""),
                name="hold_reference_given",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | ~Q(release_reason=""),
                name="hold_release_has_reason",
            ),
        ]

    #: Set by ``recordings.holds.hold_place`` on the hold it returns: what the person must know
    #: of the footage ("" when it is all there), and the register's entry for a destroyed part.
    footage_note: str
    destruction: DestructionRecord | None
    #: Set by ``recordings.holds.withhold_references`` on the holds a list shows: whether the
    #: reader may not read the record the hold serves (its reason and labels then stay unsaid).
    reference_withheld: bool

    def __str__(self) -> str:
        return f"{self.camera.code} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"

    def is_active(self, at: datetime | None = None) -> bool:
        return self.released_at is None and self.expires_at > (at or timezone.now())


class HoldRenewal(models.Model):
    """One renewal of a hold: its end moved later, with the justification given for it."""

    hold = models.ForeignKey(
        Hold, verbose_name=_("gel"), on_delete=models.PROTECT, related_name="renewals"
    )
    renewed_at = models.DateTimeField(_("renouvelé le"))
    renewed_by_name = models.CharField(_("renouvelé par"), max_length=300)
    previous_expires_at = models.DateTimeField(_("échéance précédente"))
    expires_at = models.DateTimeField(_("nouvelle échéance"))
    justification = models.TextField(_("justification du renouvellement"))

    class Meta:
        verbose_name = _("renouvellement d'un gel")
        verbose_name_plural = _("renouvellements de gels")
        ordering = ["-renewed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("previous_expires_at")),
                name="hold_renewal_moves_the_end_later",
            ),
            models.CheckConstraint(condition=~Q(justification=""), name="hold_renewal_justified"),
        ]

    def __str__(self) -> str:
        return f"{self.hold} → {self.expires_at:%Y-%m-%d %H:%M}"


class PurgeRun(models.Model):
    """One run of the retention purge; at most one runs at a time (a unique partial index)."""

    class State(models.TextChoices):
        RUNNING = "running", _("en cours")
        DONE = "done", _("terminée")
        REFUSED = "refused", _("refusée")
        FAILED = "failed", _("échouée")
        INTERRUPTED = "interrupted", _("interrompue")

    job_id = models.CharField(_("tâche"), max_length=64, db_index=True)
    #: The instant the retention is computed from (the real time, except in tests).
    as_of = models.DateTimeField(_("date de référence"))
    started_at = models.DateTimeField(_("début"))
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    state = models.CharField(_("état"), max_length=12, choices=State.choices)
    segments_destroyed = models.PositiveIntegerField(_("segments détruits"), default=0)
    bytes_destroyed = models.BigIntegerField(_("octets détruits"), default=0)
    keys_destroyed = models.PositiveIntegerField(_("clés détruites"), default=0)
    keks_destroyed = models.PositiveIntegerField(_("clés de période détruites"), default=0)
    orphans_deleted = models.PositiveIntegerField(_("objets non indexés supprimés"), default=0)
    detail = models.TextField(_("détail"), blank=True)

    class Meta:
        verbose_name = _("passage de la purge")
        verbose_name_plural = _("passages de la purge")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="running"), name="one_purge_running"
            )
        ]

    def __str__(self) -> str:
        return self.job_id


class DestructionRecord(models.Model):
    """Registre des destructions: one entry per purge batch and camera. Never updated but for
    ``objects_deleted_at``, set once the objects are gone from the store."""

    run = models.ForeignKey(PurgeRun, on_delete=models.PROTECT, related_name="records")
    camera = models.ForeignKey(
        Camera, verbose_name=_("caméra"), on_delete=models.PROTECT, related_name="destructions"
    )
    window_start = models.DateTimeField(_("images du"), null=True, blank=True)
    window_end = models.DateTimeField(_("images jusqu'au"), null=True, blank=True)
    segment_count = models.PositiveIntegerField(_("segments"))
    bytes = models.BigIntegerField(_("octets"))
    #: SHA-256 over the destroyed segments' SHA-256 (hex, each followed by a newline), in order
    #: of start time then id.
    digest = models.CharField(_("empreinte"), max_length=64)
    keys = models.JSONField(_("clés détruites"), default=list, blank=True)
    #: Also the ``destroyed_at`` of every segment of the entry, which finds them again.
    destroyed_at = models.DateTimeField(_("détruit le"))
    objects_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("entrée du registre des destructions")
        verbose_name_plural = _("registre des destructions")
        ordering = ["-destroyed_at", "-pk"]
        indexes = [models.Index(fields=["camera", "window_start"])]
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "destroyed_at"], name="one_destruction_per_camera_instant"
            ),
            models.CheckConstraint(
                condition=Q(segment_count__gte=0, bytes__gte=0), name="destruction_counts_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera.code} {self.destroyed_at:%Y-%m-%d %H:%M}"


class ClockSource(models.TextChoices):
    """How the server's clock was checked."""

    NTP = "ntp", _("requête NTP au serveur configuré")
    CHRONY = "chrony", _("état de chrony (chronyc tracking)")
    KERNEL = "kernel", _("état de synchronisation du noyau (adjtimex)")
    UNKNOWN = "unknown", _("aucune source ne renseigne l'heure")


class ClockCheck(models.Model):
    """One check of the server's clock (the arrival clock that dates every recorded image)."""

    checked_at = models.DateTimeField(_("contrôlée le"), db_index=True)
    source = models.CharField(_("source"), max_length=10, choices=ClockSource.choices)
    #: The NTP server asked, for an NTP query.
    server = models.CharField(_("serveur de temps"), max_length=200, blank=True)
    #: Whether the system says it is synchronized (None: it cannot tell).
    synchronized = models.BooleanField(_("synchronisée"), null=True, blank=True)
    #: Server minus reference time, in milliseconds (None when unknown).
    offset_ms = models.FloatField(_("écart (ms)"), null=True, blank=True)
    #: The bound on the error the source gives (NTP: root distance; kernel: estimated error).
    error_ms = models.FloatField(_("erreur estimée (ms)"), null=True, blank=True)
    detail = models.CharField(_("détail"), max_length=300, blank=True)
    #: Above CSU_CLOCK_MAX_OFFSET_MS, not synchronized, or unknown.
    alert = models.BooleanField(_("alerte"), default=False)

    class Meta:
        verbose_name = _("contrôle de l'horloge du serveur")
        verbose_name_plural = _("contrôles de l'horloge du serveur")
        ordering = ["-checked_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=ClockSource.values), name="clock_check_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {self.source} {self.offset_ms}"
