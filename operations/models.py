"""Shifts, the planned rota and signalements (the operators' log of incidents)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera
from cameras.purposes import Purpose, purpose_label


class Shift(models.Model):
    """A period on duty: from clock-in to clock-out (open while ``ended_at`` is empty)."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opérateur"),
        on_delete=models.PROTECT,
        related_name="shifts",
        # Emptied when the shift passes its retention (operations.retention): the times stay.
        null=True,
        blank=True,
    )
    started_at = models.DateTimeField(_("prise de service"))
    ended_at = models.DateTimeField(_("fin de service"), null=True, blank=True)
    #: Set when a supervisor closed a forgotten clock-out, with the reason.
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("clôturée par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    close_reason = models.TextField(_("motif de la clôture"), blank=True)

    class Meta:
        verbose_name = _("vacation")
        verbose_name_plural = _("vacations")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["started_at"]), models.Index(fields=["ended_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["operator"], condition=Q(ended_at__isnull=True), name="one_open_shift"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=F("started_at")),
                name="shift_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator or '—'} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class RotaSlot(models.Model):
    """A planned period on duty for one operator (the rota)."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opérateur"),
        on_delete=models.PROTECT,
        related_name="rota_slots",
    )
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    note = models.CharField(_("remarque"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("créneau planifié")
        verbose_name_plural = _("planning")
        ordering = ["starts_at", "operator"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="rota_slot_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator} {self.starts_at:%Y-%m-%d %H:%M}"


class Category(models.TextChoices):
    FIRE = "incendie", _("Incendie")
    ACCIDENT = "accident", _("Accident")
    DISTRESS = "detresse", _("Personne en détresse")
    CRIME = "delinquance", _("Délinquance")
    PUBLIC_ORDER = "ordre_public", _("Trouble à l'ordre public")
    TRAFFIC = "circulation", _("Circulation")
    OTHER = "autre", _("Autre")


#: The CSI L251-2 purpose each category of signalement pursues; "autre" has none of its own:
#: the operator names it.
CATEGORY_PURPOSE: dict[str, Purpose] = {
    Category.FIRE: Purpose.RESCUE_AND_FIRE,
    Category.ACCIDENT: Purpose.RESCUE_AND_FIRE,
    Category.DISTRESS: Purpose.RESCUE_AND_FIRE,
    Category.CRIME: Purpose.PERSONS_AND_PROPERTY,
    Category.PUBLIC_ORDER: Purpose.PERSONS_AND_PROPERTY,
    Category.TRAFFIC: Purpose.TRAFFIC_OFFENCES,
}


class Outcome(models.TextChoices):
    INTERVENTION = "intervention", _("Intervention")
    ARREST = "interpellation", _("Interpellation")
    CARE = "prise_en_charge", _("Prise en charge de la personne")
    NO_ACTION = "sans_suite", _("Sans suite")
    GONE = "disparu", _("Auteurs ou personne partis avant l'arrivée")
    OTHER = "autre", _("Autre")


class AlertedService(models.TextChoices):
    POLICE_NATIONALE = "police_nationale", _("Police nationale")
    POLICE_MUNICIPALE = "police_municipale", _("Police municipale")
    FIRE_BRIGADE = "pompiers", _("Pompiers / SDIS")
    SAMU = "samu", _("SAMU")
    OTHER = "autre", _("Autre")


class SignalementCounter(models.Model):
    """The last number given in a year: incremented in the signalement's own transaction."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur de signalements")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Signalement(models.Model):
    year = models.PositiveSmallIntegerField(_("année"), editable=False)
    seq = models.PositiveIntegerField(_("rang dans l'année"), editable=False)
    category = models.CharField(_("catégorie"), max_length=20, choices=Category.choices)
    #: The CSI L251-2 purpose pursued, among those of its cameras' authorizations; blank only on
    #: signalements of the category "autre" recorded before purposes were asked.
    purpose = models.CharField(
        _("finalité (CSI L251-2)"), max_length=40, choices=Purpose.choices, blank=True
    )
    occurred_at = models.DateTimeField(_("survenu le"))
    location = models.CharField(_("lieu"), max_length=300)
    cameras = models.ManyToManyField(
        Camera, verbose_name=_("caméras"), related_name="signalements", blank=True
    )
    description = models.TextField(_("description"))
    outcome = models.CharField(
        _("suite donnée"), max_length=20, choices=Outcome.choices, blank=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        on_delete=models.PROTECT,
        related_name="signalements",
    )
    created_at = models.DateTimeField(_("enregistré le"))
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)
    #: Past its retention, place, description and notes are erased (operations.retention).
    anonymised_at = models.DateTimeField(_("anonymisé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("signalement")
        verbose_name_plural = _("signalements")
        ordering = ["-year", "-seq"]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["closed_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["year", "seq"], name="signalement_number_unique"),
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="signalement_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=[*Purpose.values, ""]), name="signalement_purpose_valid"
            ),
            # A closed signalement says what came of it.
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | ~Q(outcome=""),
                name="closed_signalement_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return format_number(self.year, self.seq)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def purpose_label(self) -> str:
        return purpose_label(self.purpose)


def format_number(year: int, seq: int) -> str:
    return f"{year}-{seq:06d}"


class ServiceAlert(models.Model):
    """A service alerted for a signalement: when it was called, when it arrived."""

    signalement = models.ForeignKey(Signalement, on_delete=models.CASCADE, related_name="alerts")
    service = models.CharField(_("service"), max_length=20, choices=AlertedService.choices)
    alerted_at = models.DateTimeField(_("alerté à"))
    arrived_at = models.DateTimeField(_("arrivé à"), null=True, blank=True)

    class Meta:
        verbose_name = _("service alerté")
        verbose_name_plural = _("services alertés")
        ordering = ["alerted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["signalement", "service"], name="one_alert_per_service"
            ),
            models.CheckConstraint(
                condition=Q(arrived_at__isnull=True) | Q(arrived_at__gte=F("alerted_at")),
                name="service_arrives_after_alert",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signalement} → {self.get_service_display()}"


class FollowUpNote(models.Model):
    signalement = models.ForeignKey(Signalement, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(_("écrite le"))
    text = models.TextField(_("note"))

    class Meta:
        verbose_name = _("note de suivi")
        verbose_name_plural = _("notes de suivi")
        ordering = ["written_at"]

    def __str__(self) -> str:
        return f"{self.signalement} {self.written_at:%Y-%m-%d %H:%M}"


class RequisitionLink(models.Model):
    """A judicial requisition that concerns a signalement (one requisition, several)."""

    signalement = models.ForeignKey(
        Signalement,
        verbose_name=_("signalement"),
        on_delete=models.CASCADE,
        related_name="requisition_links",
    )
    requisition = models.ForeignKey(
        "evidence.Requisition",
        verbose_name=_("réquisition"),
        on_delete=models.PROTECT,
        related_name="signalement_links",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lié par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    linked_at = models.DateTimeField(_("lié le"))

    class Meta:
        verbose_name = _("lien signalement – réquisition")
        verbose_name_plural = _("liens signalement – réquisition")
        ordering = ["linked_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["signalement", "requisition"], name="one_link_per_signalement_requisition"
            )
        ]

    def __str__(self) -> str:
        return f"{self.signalement} ↔ {self.requisition_id}"


class AlarmKind(models.TextChoices):
    CAMERA_HEALTH = "camera_health", _("Santé d'une caméra")
    RECORDING = "recording", _("Enregistrement")
    AUTHORIZATION = "authorization", _("Autorisation préfectorale")
    EXPORT = "export", _("Extraction")
    INTEGRITY = "integrity", _("Intégrité")
    REQUISITION = "requisition", _("Réquisition")


class AlarmPriority(models.IntegerChoices):
    """Higher is more urgent: the queue's order."""

    NORMAL = 1, _("Normale")
    HIGH = 2, _("Haute")
    URGENT = 3, _("Urgente")


class AlarmState(models.TextChoices):
    NEW = "nouvelle", _("Nouvelle")
    ACKNOWLEDGED = "acquittee", _("Acquittée")
    CLOSED = "close", _("Close")


#: The states of an alarm still in the queue.
ALARM_OPEN = frozenset({AlarmState.NEW, AlarmState.ACKNOWLEDGED})


class Alarm(models.Model):
    """Something the room must look at, raised by the product itself (operations.alarms).

    One cause (``cause_key``, such as ``camera_health:CAM-01``) has at most one open alarm:
    the same cause seen again folds into it (``count`` and ``last_seen_at`` grow). An operator
    acknowledges it with a comment; it is closed by a person, or by the system when its cause
    has cleared (``closed_by`` empty, ``closed_by_system`` set). Once closed, the cause raises a
    new alarm.
    """

    kind = models.CharField(_("nature"), max_length=20, choices=AlarmKind.choices)
    cause_key = models.CharField(_("cause"), max_length=200)
    priority = models.PositiveSmallIntegerField(_("priorité"), choices=AlarmPriority.choices)
    state = models.CharField(
        _("état"), max_length=10, choices=AlarmState.choices, default=AlarmState.NEW
    )
    title = models.CharField(_("intitulé"), max_length=300)
    detail = models.TextField(_("détail"), blank=True)
    camera = models.ForeignKey(
        Camera,
        verbose_name=_("caméra"),
        on_delete=models.SET_NULL,
        related_name="alarms",
        null=True,
        blank=True,
    )
    count = models.PositiveIntegerField(_("occurrences"), default=1)
    first_seen_at = models.DateTimeField(_("levée le"))
    last_seen_at = models.DateTimeField(_("vue pour la dernière fois le"))
    #: The scan found the cause gone at this time (the alarm closes itself after a grace
    #: period; the cause back before then is a new occurrence of the same alarm).
    cleared_at = models.DateTimeField(_("cause disparue le"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acquittée le"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acquittée par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    acknowledgement = models.TextField(_("commentaire d'acquittement"), blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("close par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    closed_by_system = models.BooleanField(_("close automatiquement"), default=False)

    class Meta:
        verbose_name = _("alarme")
        verbose_name_plural = _("alarmes")
        ordering = ["-last_seen_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "-priority", "-last_seen_at"]),
            models.Index(fields=["first_seen_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["cause_key"],
                condition=~Q(state=AlarmState.CLOSED),
                name="one_open_alarm_per_cause",
            ),
            models.CheckConstraint(condition=Q(kind__in=AlarmKind.values), name="alarm_kind_valid"),
            models.CheckConstraint(
                condition=Q(state__in=AlarmState.values), name="alarm_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=AlarmPriority.values), name="alarm_priority_valid"
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="alarm_count_positive"),
            # Acknowledged means someone, when, and why.
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | (Q(acknowledged_by__isnull=False) & ~Q(acknowledgement="")),
                name="alarm_acknowledgement_complete",
            ),
            # Closed means when, and by a person or by the system, never both.
            models.CheckConstraint(
                condition=(
                    Q(state=AlarmState.CLOSED, closed_at__isnull=False)
                    & (
                        Q(closed_by__isnull=False, closed_by_system=False)
                        | Q(closed_by__isnull=True, closed_by_system=True)
                    )
                )
                | (
                    ~Q(state=AlarmState.CLOSED)
                    & Q(closed_at__isnull=True, closed_by__isnull=True, closed_by_system=False)
                ),
                name="alarm_closed_consistently",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state != AlarmState.CLOSED

    @property
    def is_urgent(self) -> bool:
        return self.priority == AlarmPriority.URGENT
