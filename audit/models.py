"""The append-only, hash-chained audit trail.

Each event stores the hash of the one before it; the database refuses UPDATE and DELETE on the
table (triggers, see migration 0002), and a signed checkpoint of the chain head makes truncation
visible. Only ``audit.services.record`` writes here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from audit import actions
from csu.lib import labels


class AuditEvent(models.Model):
    seq = models.BigIntegerField(_("numéro"), unique=True)
    occurred_at = models.DateTimeField(_("date"), db_index=True)
    # The actor is copied, not referenced: the event outlives the account.
    actor_id = models.BigIntegerField(
        _("identifiant de l'auteur"), null=True, blank=True, db_index=True
    )
    actor_name = models.CharField(_("auteur"), max_length=300, blank=True)
    actor_role = models.CharField(_("rôle"), max_length=32, blank=True)
    ip = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    user_agent = models.CharField(_("navigateur"), max_length=512, blank=True)
    request_id = models.CharField(_("requête"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("type d'objet"), max_length=64, blank=True, db_index=True)
    target_id = models.CharField(_("identifiant de l'objet"), max_length=64, blank=True)
    target_label = models.CharField(_("objet"), max_length=300, blank=True)
    reason = models.TextField(_("motif"), blank=True)
    recipient = models.CharField(_("destinataire"), max_length=300, blank=True)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    prev_hash = models.CharField(_("empreinte précédente"), max_length=64)
    hash = models.CharField(_("empreinte"), max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("événements d'audit")
        indexes = [models.Index(fields=["target_type", "target_id"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.actor_name}"

    @property
    def action_label(self) -> str:
        """The action in words (the registered label; the code only if none is registered)."""
        try:
            return str(actions.get(self.action).label)
        except actions.UnknownAction:
            return self.action

    @property
    def actor_label(self) -> str:
        """Who acted, in words: a person as stored, a part of the system by its description."""
        return labels.actor_label(self.actor_name) if self.actor_id is None else self.actor_name

    @property
    def role_label(self) -> str:
        return labels.role_label(self.actor_role)


class ChainCheckpoint(models.Model):
    """A signed statement of the chain head: seq and hash at a moment, signed with Ed25519."""

    seq = models.BigIntegerField(_("numéro"))
    head_hash = models.CharField(_("empreinte de tête"), max_length=64)
    signed_at = models.DateTimeField(_("signé le"))
    signature = models.CharField(_("signature"), max_length=128)
    key_fingerprint = models.CharField(_("empreinte de la clé"), max_length=64)

    class Meta:
        ordering = ["-signed_at"]
        get_latest_by = "signed_at"
        verbose_name = _("point de contrôle signé")
        verbose_name_plural = _("points de contrôle signés")

    def __str__(self) -> str:
        return f"#{self.seq} {self.signed_at:%Y-%m-%d %H:%M}"


class ChainVerification(models.Model):
    """The outcome of each full verification, shown to the DPO."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    events_checked = models.BigIntegerField()
    ok = models.BooleanField()
    first_broken_seq = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} {'OK' if self.ok else 'BROKEN'}"


class AuditPrune(models.Model):
    """One pruning of expired events, up to a signed checkpoint that it keeps (append-only).

    Events numbered below ``horizon_seq`` may be deleted only in the transaction that inserts
    this row while it is ``open`` (database triggers); those kept there (longer retention) are
    listed by ``kept_digest``, signed with the chain's key, so that none can vanish unseen.
    """

    checkpoint = models.ForeignKey(
        ChainCheckpoint, verbose_name=_("point de contrôle"), on_delete=models.PROTECT
    )
    horizon_seq = models.BigIntegerField(_("premier événement chaîné conservé"))
    pruned_at = models.DateTimeField(_("élagué le"))
    deleted_count = models.BigIntegerField(_("événements supprimés"))
    kept_count = models.BigIntegerField(_("événements antérieurs conservés"))
    kept_digest = models.CharField(_("empreinte des événements conservés"), max_length=64)
    signature = models.CharField(_("signature"), max_length=128)
    key_fingerprint = models.CharField(_("empreinte de la clé"), max_length=64)
    open = models.BooleanField(default=True, editable=False)
    actor_name = models.CharField(_("auteur"), max_length=300)

    class Meta:
        ordering = ["-horizon_seq"]
        verbose_name = _("élagage du journal")
        verbose_name_plural = _("élagages du journal")

    def __str__(self) -> str:
        return f"< #{self.horizon_seq} {self.pruned_at:%Y-%m-%d}"


class RecordPurge(models.Model):
    """One run of the retention schedule over one kind of record (``audit.records``).

    The register of the application's own data destroyed past its period: when, which kind,
    the cut-off (records ended before it were due), how many rows were deleted and how many
    kept for the statistics with their personal fields emptied. An audit table: the
    application's database role may only add rows (``audit.database_roles``).
    """

    ran_at = models.DateTimeField(_("exécutée le"), db_index=True)
    kind = models.CharField(_("nature des données"), max_length=40)
    days = models.PositiveIntegerField(_("durée de conservation (jours)"))
    cutoff = models.DateTimeField(_("terminées avant le"))
    deleted = models.PositiveIntegerField(_("supprimées"))
    anonymised = models.PositiveIntegerField(_("anonymisées"))
    actor_name = models.CharField(_("auteur"), max_length=300)

    class Meta:
        ordering = ["-ran_at", "kind"]
        verbose_name = _("purge des données de l'application")
        verbose_name_plural = _("purges des données de l'application")

    def __str__(self) -> str:
        return f"{self.kind} {self.ran_at:%Y-%m-%d}"
