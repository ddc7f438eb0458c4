"""Demandes d'accès (RGPD art. 15, loi Informatique et Libertés titre III)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera
from recordings.models import DestructionRecord, Hold


def one_month_after(moment: datetime) -> datetime:
    """The same day of the next month (the last day when it has fewer), RGPD art. 12.3."""
    local = timezone.localtime(moment)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


class IdentityDocument(models.TextChoices):
    ID_CARD = "id_card", _("Carte nationale d'identité")
    PASSPORT = "passport", _("Passeport")
    RESIDENCE_PERMIT = "residence_permit", _("Titre de séjour")
    DRIVING_LICENCE = "driving_licence", _("Permis de conduire")


class RefusalReason(models.TextChoices):
    """The grounds the law allows for refusing or restricting the right of access."""

    IDENTITY = (
        "identity",
        _("Identité du demandeur non établie malgré la demande de justificatif (RGPD art. 12.6)"),
    )
    NOT_IDENTIFIABLE = (
        "not_identifiable",
        _("Le demandeur ne peut pas être identifié dans les images (RGPD art. 11.2)"),
    )
    UNFOUNDED = "unfounded", _("Demande manifestement infondée ou excessive (RGPD art. 12.5)")
    THIRD_PARTIES = (
        "third_parties",
        _(
            "Communication portant atteinte aux droits d'autrui, que le floutage ne peut "
            "protéger (RGPD art. 15.4)"
        ),
    )
    INVESTIGATION = (
        "investigation",
        _(
            "Restriction pour ne pas nuire à une enquête ou à des poursuites pénales "
            "(loi Informatique et Libertés art. 107)"
        ),
    )
    PUBLIC_SECURITY = (
        "public_security",
        _(
            "Restriction pour la sécurité publique ou la sûreté de l'État "
            "(loi Informatique et Libertés art. 107)"
        ),
    )


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("En cours")
        ANSWERED = "answered", _("Répondue")
        REFUSED = "refused", _("Refusée")

    class Outcome(models.TextChoices):
        EXTRACT = "extract", _("Extrait communiqué (tiers floutés)")
        DESTROYED = "destroyed", _("Images détruites à l'expiration de leur conservation")
        NO_FOOTAGE = "no_footage", _("Aucun enregistrement sur la période")
        REFUSED = "refused", _("Refus motivé")

    requester_last_name = models.CharField(_("nom du demandeur"), max_length=150)
    requester_first_name = models.CharField(_("prénom du demandeur"), max_length=150)
    requester_birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    requester_email = models.EmailField(_("courriel"), blank=True)
    requester_address = models.TextField(_("adresse postale"), blank=True)
    identity_document = models.CharField(
        _("justificatif d'identité"), max_length=20, choices=IdentityDocument.choices
    )
    identity_document_ref = models.CharField(
        _("numéro du justificatif (4 derniers caractères)"), max_length=4
    )
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("identité vérifiée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    identity_checked_at = models.DateTimeField(_("identité vérifiée le"))
    description = models.TextField(
        _("signalement donné par le demandeur"),
        help_text=_("Tenue, véhicule, trajet : ce qui permet de le reconnaître dans les images."),
    )
    place = models.CharField(_("lieu"), max_length=300)
    starts_at = models.DateTimeField(_("début de la période"))
    ends_at = models.DateTimeField(_("fin de la période"))
    cameras = models.ManyToManyField(
        Camera, through="AccessRequestCamera", verbose_name=_("caméras"), related_name="+"
    )
    received_at = models.DateTimeField(_("reçue le"))
    deadline = models.DateTimeField(_("réponse due le"))
    status = models.CharField(_("état"), max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("réponse"), max_length=12, choices=Outcome.choices, blank=True)
    refusal_reason = models.CharField(
        _("motif du refus"), max_length=20, choices=RefusalReason.choices, blank=True
    )
    answer_text = models.TextField(_("texte de la réponse"), blank=True)
    destroyed_at = models.DateTimeField(_("images détruites le"), null=True, blank=True)
    answered_at = models.DateTimeField(_("répondue le"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("répondue par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    last_reminder_on = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    #: Past its retention, the requester's identity data are erased (compliance.retention).
    anonymised_at = models.DateTimeField(_("anonymisée le"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("demande d'accès")
        verbose_name_plural = _("demandes d'accès")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="access_request_window"
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="access_request_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(answered_at__isnull=False),
                name="access_request_answer_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"DA-{timezone.localtime(self.received_at):%Y}-{self.pk:04d}"

    @property
    def requester(self) -> str:
        return f"{self.requester_first_name} {self.requester_last_name.upper()}"

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.now() > self.deadline


class AccessRequestCamera(models.Model):
    """One camera of a request: the hold placed at intake, or why none could be."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="footage")
    camera = models.ForeignKey(Camera, verbose_name=_("caméra"), on_delete=models.PROTECT)
    hold = models.ForeignKey(
        Hold, verbose_name=_("gel"), on_delete=models.PROTECT, null=True, blank=True
    )
    unavailable = models.TextField(_("indisponibilité"), blank=True)
    destruction = models.ForeignKey(
        DestructionRecord,
        verbose_name=_("entrée du registre des destructions"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    #: Areas the agent marked around the requester (normalized polygons); the rest is blurred.
    #: Still polygons or moving areas (key positions in time), as ``compliance.areas`` says.
    keep_areas = models.JSONField(_("zones laissées nettes"), default=list, blank=True)
    #: Areas blurred even inside the kept ones (a third party crossing the requester).
    blur_areas = models.JSONField(_("zones floutées"), default=list, blank=True)
    extract_path = models.CharField(max_length=300, blank=True)
    extract_key_id = models.CharField(max_length=120, blank=True)
    extract_key = models.BinaryField(null=True, blank=True)
    extract_sha256 = models.CharField(_("SHA-256 de l'extrait"), max_length=64, blank=True)
    extract_size = models.BigIntegerField(_("taille"), null=True, blank=True)
    extract_frames = models.PositiveIntegerField(default=0)
    extract_built_at = models.DateTimeField(_("extrait préparé le"), null=True, blank=True)
    extract_built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("extrait préparé par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    #: The DPO's validation of the prepared extract (its metadata, never its images).
    extract_released_at = models.DateTimeField(_("extrait validé le"), null=True, blank=True)
    extract_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("extrait validé par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    #: The single download, by the supervisor who hands the extract to the requester.
    extract_handed_over_at = models.DateTimeField(_("extrait remis le"), null=True, blank=True)
    extract_handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("extrait remis par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    #: File and wrapped key destroyed once the request is answered (SHA-256 and size stay).
    extract_destroyed_at = models.DateTimeField(_("extrait détruit le"), null=True, blank=True)

    class Meta:
        ordering = ["request", "camera__code"]
        constraints = [
            models.UniqueConstraint(fields=["request", "camera"], name="access_request_camera"),
            models.CheckConstraint(
                condition=Q(extract_released_at__isnull=True) | ~Q(extract_sha256=""),
                name="access_request_extract_released_when_built",
            ),
            models.CheckConstraint(
                condition=Q(extract_handed_over_at__isnull=True)
                | Q(extract_released_at__isnull=False),
                name="access_request_extract_handed_over_when_released",
            ),
        ]

    #: Set by ``compliance.views.request_detail`` on the rows it shows: whether the reader may
    #: build the camera's extract, and the share of the picture its kept areas cover.
    may_extract: bool
    kept_percent: float | None

    def __str__(self) -> str:
        return f"{self.request} {self.camera.code}"

    @property
    def has_extract(self) -> bool:
        """A prepared extract whose file and key still exist."""
        return bool(self.extract_path) and self.extract_destroyed_at is None

    @property
    def extract_state(self) -> str:
        """ "", "built", "released", "handed_over" or "destroyed"."""
        if self.extract_destroyed_at is not None:
            return "destroyed"
        if self.extract_handed_over_at is not None:
            return "handed_over"
        if self.extract_released_at is not None:
            return "released"
        return "built" if self.extract_path else ""


# --- Violations de données (RGPD art. 33) --------------------------------------------------------

#: RGPD art. 33.1: the CNIL is notified within 72 hours of discovery — real hours, DST or not.
BREACH_NOTIFICATION_HOURS = 72


class Breach(models.Model):
    """A personal-data breach as RGPD art. 33.5 wants it documented, notified or not."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        OPEN = "open", _("Ouverte")
        CLOSED = "closed", _("Close")

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Saisie par le DPO")
        DETECTED = "detected", _("Détectée par le CSU")

    class Decision(models.TextChoices):
        PENDING = "", _("Décision à prendre")
        NOTIFY = "notify", _("Notifiée")
        NOT_NOTIFY = "not_notify", _("Non notifiée")

    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.OPEN)
    origin = models.CharField(
        _("origine"), max_length=10, choices=Origin.choices, default=Origin.MANUAL
    )
    #: What detected it (an audit action code) and the failure's key: one draft per failure.
    detector = models.CharField(_("détecteur"), max_length=60, blank=True)
    detection_key = models.CharField(max_length=200, blank=True)
    detection_details = models.JSONField(_("détails de la détection"), default=dict, blank=True)
    description = models.TextField(_("nature de la violation"))
    occurred_at = models.DateTimeField(_("survenue le"), null=True, blank=True)
    discovered_at = models.DateTimeField(_("découverte le"))
    discovered_by = models.CharField(_("découverte par"), max_length=200)
    data_categories = models.TextField(_("catégories de données concernées"), blank=True)
    data_records = models.PositiveIntegerField(
        _("nombre approximatif d'enregistrements"), null=True, blank=True
    )
    people_categories = models.TextField(_("catégories de personnes concernées"), blank=True)
    people_count = models.PositiveIntegerField(
        _("nombre approximatif de personnes"), null=True, blank=True
    )
    consequences = models.TextField(_("conséquences probables"), blank=True)
    measures_taken = models.TextField(_("mesures prises"), blank=True)
    measures_planned = models.TextField(_("mesures envisagées"), blank=True)
    cnil_decision = models.CharField(
        _("notification à la CNIL"),
        max_length=10,
        choices=Decision.choices,
        default=Decision.PENDING,
        blank=True,
    )
    cnil_reason = models.TextField(_("motif de la décision (CNIL)"), blank=True)
    cnil_notified_at = models.DateTimeField(_("notifiée à la CNIL le"), null=True, blank=True)
    cnil_reference = models.CharField(_("référence CNIL"), max_length=100, blank=True)
    people_decision = models.CharField(
        _("communication aux personnes"),
        max_length=10,
        choices=Decision.choices,
        default=Decision.PENDING,
        blank=True,
    )
    people_reason = models.TextField(_("motif de la décision (personnes)"), blank=True)
    people_notified_at = models.DateTimeField(
        _("communiquée aux personnes le"), null=True, blank=True
    )
    decided_at = models.DateTimeField(_("décision prise le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("créée par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    closing_note = models.TextField(_("bilan de clôture"), blank=True)
    #: Each reminder to the DPO is claimed once by a conditional update (compliance.tasks).
    reminded_24h_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_6h_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_overdue_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-discovered_at", "-pk"]
        verbose_name = _("violation de données")
        verbose_name_plural = _("violations de données")
        constraints = [
            # The same failure detected again while its incident is not closed opens nothing.
            models.UniqueConstraint(
                fields=["detection_key"],
                condition=~Q(detection_key="") & ~Q(state="closed"),
                name="breach_one_open_per_failure",
            ),
            models.CheckConstraint(
                condition=Q(cnil_decision="") | ~Q(cnil_reason=""),
                name="breach_cnil_decision_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(people_decision="") | ~Q(people_reason=""),
                name="breach_people_decision_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False),
                name="breach_closed_dated",
            ),
        ]

    #: Set by the pages that show the deadline (``compliance.breaches.time_left``).
    time_left: str
    overdue: bool

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"VD-{timezone.localtime(self.discovered_at):%Y}-{self.pk:04d}"

    @property
    def deadline(self) -> datetime:
        """72 hours after discovery, counted in UTC: an autumn or spring change moves no hour."""
        return breach_deadline(self.discovered_at)

    @property
    def decision_pending(self) -> bool:
        return self.cnil_decision == self.Decision.PENDING and self.state != self.State.CLOSED


def breach_deadline(discovered_at: datetime) -> datetime:
    """The notification deadline of a breach discovered at ``discovered_at`` (RGPD art. 33.1)."""
    # Arithmetic on a Paris-aware datetime is wall-clock: 72 h would be 71 or 73 across a change.
    return discovered_at.astimezone(UTC) + timedelta(hours=BREACH_NOTIFICATION_HOURS)


# --- Registre des activités de traitement (RGPD art. 30, LIL art. 100) -------------------------


class ProcessingRecordVersion(models.Model):
    """A published version of the record of processing activities, frozen as it was published:
    its data, their hash and the PDF and OpenDocument files handed out then."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    published_at = models.DateTimeField(_("publiée le"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("publiée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("motif de la mise à jour"), blank=True)
    #: The record's content (sections, tables) as generated at publication.
    content = models.JSONField(_("contenu"))
    #: SHA-256 of the canonical JSON of ``content``: two versions alike have the same hash.
    content_sha256 = models.CharField(_("empreinte du contenu"), max_length=64)
    pdf = models.BinaryField(_("PDF"))
    odt = models.BinaryField(_("OpenDocument"))

    class Meta:
        ordering = ["-number"]
        verbose_name = _("version du registre des traitements")
        verbose_name_plural = _("versions du registre des traitements")
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1), name="processing_record_number"),
        ]

    def __str__(self) -> str:
        return f"v{self.number}"


# --- Analyse d'impact (AIPD, RGPD art. 35.3.c) ---------------------------------------------------


class ImpactAssessment(models.Model):
    """One version of the data-protection impact assessment: its file (encrypted at rest), who
    wrote it and when, and the prefectoral authorizations it covers."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    assessed_on = models.DateField(_("date de l'analyse"))
    author = models.CharField(_("auteur"), max_length=200)
    summary = models.TextField(_("résumé et conclusions"))
    authorizations = models.ManyToManyField(
        "cameras.Authorization",
        verbose_name=_("autorisations couvertes"),
        related_name="impact_assessments",
    )
    file_name = models.CharField(_("fichier"), max_length=200)
    file_type = models.CharField(_("type du fichier"), max_length=100)
    file_size = models.PositiveIntegerField(_("taille du fichier"))
    file_sha256 = models.CharField(_("SHA-256 du fichier"), max_length=64)
    file_path = models.CharField(max_length=300, unique=True)
    file_key_id = models.CharField(max_length=120)
    file_key = models.BinaryField()
    recorded_at = models.DateTimeField(_("enregistrée le"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("enregistrée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-version"]
        verbose_name = _("analyse d'impact")
        verbose_name_plural = _("analyses d'impact")
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="impact_assessment_version"),
        ]

    def __str__(self) -> str:
        return _("AIPD v%(n)s") % {"n": self.version}


class ImpactAssessmentReminder(models.Model):
    """A reason to review the impact assessment, raised to the DPO once (``cause`` is unique)."""

    class Kind(models.TextChoices):
        MISSING = "missing", _("Aucune analyse d'impact enregistrée")
        REVIEW_DUE = "review_due", _("Révision périodique due")
        NEW_CAMERA = "new_camera", _("Caméra ajoutée depuis l'analyse")
        AUTHORIZATION = "authorization", _("Autorisation ajoutée ou modifiée depuis l'analyse")

    kind = models.CharField(_("motif"), max_length=20, choices=Kind.choices)
    #: What raised it, e.g. ``camera:12@v3``: the same cause is never reminded twice.
    cause = models.CharField(max_length=200, unique=True)
    assessment = models.ForeignKey(
        ImpactAssessment,
        verbose_name=_("analyse d'impact en vigueur"),
        on_delete=models.PROTECT,
        related_name="reminders",
        null=True,
        blank=True,
    )
    detail = models.TextField(_("détail"))
    raised_at = models.DateTimeField(_("levé le"))

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name = _("rappel de révision de l'analyse d'impact")
        verbose_name_plural = _("rappels de révision de l'analyse d'impact")

    def __str__(self) -> str:
        return self.cause
