"""Judicial requisitions, the magistrate's decision, the exports and their download links."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Service
from cameras.models import Camera
from cameras.purposes import Purpose, purpose_label
from csu.lib.times import paris_text
from recordings.models import Hold


class LegalFrame(models.TextChoices):
    FLAGRANCE = "60-1", _("Enquête de flagrance (art. 60-1 CPP)")
    PRELIMINAIRE = "77-1-1", _("Enquête préliminaire (art. 77-1-1 CPP)")
    INSTRUCTION = "99-3", _("Information judiciaire (art. 99-3 CPP)")


class Status(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("requisition status", "Déposée")
    UNDER_REVIEW = "under_review", _("En cours d'examen")
    APPROVED = "approved", _("Autorisée")
    PARTLY_APPROVED = "partly_approved", _("Autorisée en partie")
    REJECTED = "rejected", _("Refusée")
    EXPORTING = "exporting", _("Extraction en préparation")
    READY = "ready", _("Extraction prête")
    HANDED_OVER = "handed_over", _("Remise")
    CLOSED = "closed", _("Close")
    CANCELLED = "cancelled", _("Annulée")
    EXPIRED = "expired", _("Expirée")


class Decision(models.TextChoices):
    """What the magistrate decided: it stays when the status moves on (export, handover)."""

    APPROVED = "approved", _("Autorisée en totalité")
    PARTLY_APPROVED = "partly_approved", _("Autorisée en partie")
    REJECTED = "rejected", _("Refusée")


#: Awaiting the magistrate.
PENDING = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW})
#: Decided in favour: footage may be extracted.
GRANTED = frozenset({Status.APPROVED, Status.PARTLY_APPROVED})
#: Nothing more happens; the holds are (or are being) released.
FINISHED = frozenset({Status.REJECTED, Status.CLOSED, Status.CANCELLED, Status.EXPIRED})
#: The only moves of a requisition: status → the statuses it may become. Undecided, it is
#: examined, decided or withdrawn by its officer; past its decision deadline it is escalated to
#: the magistrates and the supervisors, never expired, and its footage stays held until it is
#: decided or cancelled. Granted, it is exported; an export that fails returns it to its
#: decision; a ready package is handed over, then the file closes, or, never downloaded within
#: its time, is destroyed and the requisition returns to its decision. EXPIRED is no longer reached:
#: it remains for the requisitions that expired before escalation replaced expiry.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset(
        {
            Status.UNDER_REVIEW,
            Status.APPROVED,
            Status.PARTLY_APPROVED,
            Status.REJECTED,
            Status.CANCELLED,
        }
    ),
    Status.UNDER_REVIEW: frozenset(
        {
            Status.APPROVED,
            Status.PARTLY_APPROVED,
            Status.REJECTED,
            Status.CANCELLED,
        }
    ),
    Status.APPROVED: frozenset({Status.EXPORTING}),
    Status.PARTLY_APPROVED: frozenset({Status.EXPORTING}),
    Status.EXPORTING: frozenset({Status.READY, Status.APPROVED, Status.PARTLY_APPROVED}),
    Status.READY: frozenset({Status.HANDED_OVER, Status.APPROVED, Status.PARTLY_APPROVED}),
    Status.HANDED_OVER: frozenset({Status.CLOSED}),
    Status.REJECTED: frozenset(),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
}


def moves_to(status: str) -> frozenset[Status]:
    """The statuses from which a requisition may become ``status``."""
    return frozenset(source for source, targets in TRANSITIONS.items() if status in targets)


class Requisition(models.Model):
    """A réquisition judiciaire (CPP 60-1, 77-1-1, 99-3) for footage of the CSU."""

    procedure_number = models.CharField(_("numéro de procédure"), max_length=60)
    legal_frame = models.CharField(_("cadre juridique"), max_length=10, choices=LegalFrame.choices)
    #: In a preliminary inquiry (art. 77-1-1 CPP) the OPJ requisitions « sur autorisation du
    #: procureur de la République »: the reference of that authorization. Empty is accepted (the
    #: authorization may be oral or follow) but warned about on every page and document.
    prosecutor_authorization = models.CharField(
        _("référence de l'autorisation du procureur"), max_length=120, blank=True
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officier requérant"),
        on_delete=models.PROTECT,
        related_name="requisitions",
    )
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="requisitions"
    )
    facts = models.TextField(_("faits"))
    justification = models.TextField(_("justification"))
    status = models.CharField(
        _("état"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    submitted_at = models.DateTimeField(_("déposée le"))
    #: The earliest instant a requested window would have been destroyed: the queue's order.
    footage_expires_at = models.DateTimeField(_("destruction prévue le"), null=True, blank=True)
    #: Undecided past its deadline: when the magistrates and supervisors were first told, and
    #: when they were last reminded (every EVIDENCE_REMINDER_DAYS until it is decided).
    escalated_at = models.DateTimeField(_("signalée en retard le"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("dernier rappel le"), null=True, blank=True)
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("magistrat"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decision_reason = models.TextField(_("motif de la décision"), blank=True)
    decision = models.CharField(
        _("décision du magistrat"), max_length=20, choices=Decision.choices, blank=True
    )
    handed_over_at = models.DateTimeField(_("remise le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    # The scanned requisition, encrypted at rest (recordings.crypto format, own wrapped key).
    attachment_name = models.CharField(_("pièce"), max_length=200)
    attachment_type = models.CharField(_("type de la pièce"), max_length=40)
    attachment_size = models.PositiveIntegerField(_("taille de la pièce"))
    attachment_sha256 = models.CharField(_("SHA-256 de la pièce"), max_length=64)
    attachment_path = models.CharField(max_length=300, unique=True)
    attachment_key_id = models.CharField(max_length=120)
    attachment_key = models.BinaryField()
    #: Past its retention: facts, justification, reasons and the scan are erased
    #: (evidence.retention); dates, status and windows stay for the statistics.
    anonymised_at = models.DateTimeField(_("anonymisée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("réquisition judiciaire")
        verbose_name_plural = _("réquisitions judiciaires")
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "procedure_number"],
                condition=~Q(status="cancelled"),
                name="requisition_procedure_unique_per_service",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="requisition_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(legal_frame__in=LegalFrame.values), name="requisition_frame_valid"
            ),
            models.CheckConstraint(
                condition=Q(decision="") | Q(decision__in=Decision.values),
                name="requisition_decision_valid",
            ),
            # Only the preliminary inquiry needs the prosecutor's authorization.
            models.CheckConstraint(
                condition=Q(prosecutor_authorization="") | Q(legal_frame=LegalFrame.PRELIMINAIRE),
                name="requisition_authorization_only_77_1_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.procedure_number})"

    @property
    def reference(self) -> str:
        return f"REQ-{self.submitted_at:%Y}-{self.pk:05d}"

    @property
    def lacks_prosecutor_authorization(self) -> bool:
        """A 77-1-1 requisition whose prosecutor's authorization reference is not recorded."""
        return self.legal_frame == LegalFrame.PRELIMINAIRE and not self.prosecutor_authorization

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING

    @property
    def is_granted(self) -> bool:
        return self.status in GRANTED


class Window(models.Model):
    """One camera × time window asked for, what the magistrate decided, and its hold."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("En attente")
        APPROVED = "approved", _("Autorisée")
        REFUSED = "refused", _("Refusée")

    requisition = models.ForeignKey(Requisition, on_delete=models.CASCADE, related_name="windows")
    camera = models.ForeignKey(
        Camera, verbose_name=_("caméra"), on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    decision = models.CharField(
        _("décision"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    hold = models.ForeignKey(
        Hold,
        verbose_name=_("gel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    #: The part the magistrate approved when he shortened the window (null: all of it).
    approved_starts_at = models.DateTimeField(_("autorisée à partir de"), null=True, blank=True)
    approved_ends_at = models.DateTimeField(_("autorisée jusqu'à"), null=True, blank=True)
    #: Why no hold could be placed (footage destroyed, never recorded), in words, at intake.
    unavailable = models.TextField(_("indisponibilité"), blank=True)
    destroyed_at = models.DateTimeField(_("détruite le"), null=True, blank=True)

    class Meta:
        ordering = ["requisition", "pk"]
        verbose_name = _("période demandée")
        verbose_name_plural = _("périodes demandées")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="window_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(approved_starts_at__isnull=True, approved_ends_at__isnull=True)
                | Q(
                    approved_starts_at__gte=F("starts_at"),
                    approved_ends_at__lte=F("ends_at"),
                    approved_ends_at__gt=F("approved_starts_at"),
                ),
                name="window_approved_part_inside",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera.code} {paris_text(self.starts_at)} – {paris_text(self.ends_at)}"

    @property
    def granted_starts_at(self):
        """Start of the footage released: the approved part when the window was shortened."""
        return self.approved_starts_at or self.starts_at

    @property
    def granted_ends_at(self):
        return self.approved_ends_at or self.ends_at

    @property
    def is_shortened(self) -> bool:
        return self.decision == self.Decision.APPROVED and (
            self.granted_starts_at != self.starts_at or self.granted_ends_at != self.ends_at
        )


class Export(models.Model):
    """The package produced for a granted requisition: stored encrypted, released, downloaded."""

    class State(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        READY = "ready", _("Prête")
        FAILED = "failed", _("Échouée")
        #: Never downloaded within its time (evidence.services.exports_destroy_unclaimed): the
        #: file is gone; the requisition returned to its decision, a new export can be made.
        DESTROYED = "destroyed", _("Paquet détruit")

    requisition = models.ForeignKey(Requisition, on_delete=models.PROTECT, related_name="exports")
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("avancement (%)"), default=0)
    progress_label = models.CharField(_("étape"), max_length=200, blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("préparée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    #: The CSI L251-2 purpose the extraction pursues, listed by the arrêté of every camera it
    #: covers; blank only on exports made before purposes were recorded.
    purpose = models.CharField(
        _("finalité (CSI L251-2)"), max_length=40, choices=Purpose.choices, blank=True
    )
    created_at = models.DateTimeField(_("lancée le"), auto_now_add=True)
    #: When a worker claimed it: a run still "running" past the task's time limit is dead.
    started_at = models.DateTimeField(_("commencée le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    package_path = models.CharField(max_length=300, blank=True)
    package_key_id = models.CharField(max_length=120, blank=True)
    package_key = models.BinaryField(null=True, blank=True)
    package_size = models.BigIntegerField(_("taille (octets)"), null=True, blank=True)
    package_sha256 = models.CharField(_("SHA-256 du paquet"), max_length=64, blank=True)
    manifest_sha256 = models.CharField(_("SHA-256 du manifeste"), max_length=64, blank=True)
    key_fingerprint = models.CharField(
        _("empreinte de la clé de signature"), max_length=64, blank=True
    )
    #: Per file of the package: path, SHA-256, size (copied from the manifest for the registers).
    files = models.JSONField(_("fichiers"), default=list, blank=True)
    #: Outages inside the approved windows as the manifest lists them (for the procès-verbal);
    #: None for a package built before they were listed.
    outages = models.JSONField(_("interruptions"), null=True, blank=True, default=None)
    #: The time source and the clocks measured while the windows were recorded, as the
    #: manifest states them (manifest.clock_record); None for a package built before.
    clocks = models.JSONField(_("horloges"), null=True, blank=True, default=None)
    released_at = models.DateTimeField(_("libérée le"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("libérée par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    deleted_at = models.DateTimeField(_("paquet supprimé le"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("extraction")
        verbose_name_plural = _("extractions")
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="export_progress_percent"
            ),
            # One export at work per requisition at a time.
            models.UniqueConstraint(
                fields=["requisition"],
                condition=Q(state__in=["queued", "running", "ready"]),
                name="one_live_export_per_requisition",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requisition.reference} #{self.pk}"

    @property
    def purpose_label(self) -> str:
        return purpose_label(self.purpose)

    @property
    def package_name(self) -> str:
        return f"{self.requisition.reference}-extraction-{self.pk}"


#: The states of an export whose package was built (whether or not its file still exists):
#: the registers of extractions list them.
BUILT_STATES = (Export.State.READY, Export.State.DESTROYED)


class DownloadLink(models.Model):
    """An expiring, single-use link to an export, bound to the requesting officer."""

    export = models.ForeignKey(Export, on_delete=models.PROTECT, related_name="links")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("destinataire"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    #: SHA-256 of the token: the token itself is only in the link.
    token_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("délivré par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("délivré le"))
    expires_at = models.DateTimeField(_("expire le"))
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    #: The procès-verbal de remise (PDF) drawn up at the download, and its SHA-256.
    handover_record = models.BinaryField(_("procès-verbal de remise"), null=True, blank=True)
    handover_record_sha256 = models.CharField(
        _("SHA-256 du procès-verbal de remise"), max_length=64, blank=True
    )
    #: Its detached Ed25519 signature by the city's key (base64, as manifest.json.sig), and the
    #: public key that made it (base64 of its 32 raw bytes): empty for a record drawn up before
    #: records were signed.
    handover_record_signature = models.TextField(
        _("signature du procès-verbal de remise"), blank=True
    )
    handover_record_public_key = models.CharField(
        _("clé publique de signature du procès-verbal"), max_length=64, blank=True
    )

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("lien de téléchargement")
        verbose_name_plural = _("liens de téléchargement")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("issued_at")), name="link_expires_after_issue"
            )
        ]

    def __str__(self) -> str:
        return f"{self.export} → {self.recipient}"
