"""The field-level history (django-auditlog): read in words, and forgotten with its record.

An anonymised record must not survive in its own change history: its entries go with it. A
history shown to people names each field by its verbose name and each value by its choice's
label, a related record by its name, a time in Europe/Paris, an empty value as a dash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from csu.lib import labels

#: What happened to the record, in words (django-auditlog's own labels are in English).
ACTIONS: dict[int, str | Promise] = {
    LogEntry.Action.CREATE: _("Création"),
    LogEntry.Action.UPDATE: _("Modification"),
    LogEntry.Action.DELETE: _("Suppression"),
    LogEntry.Action.ACCESS: _("Consultation"),
}
#: How django-auditlog writes an empty value or a missing relation.
_EMPTY = {"None", "", "{}", "[]"}


def forget(model: type[models.Model], pks: Iterable[object]) -> int:
    """Delete the change history of the rows ``pks`` of ``model``; how many entries went."""
    keys = [str(pk) for pk in pks]
    if not keys:
        return 0
    content_type = ContentType.objects.get_for_model(model)
    deleted, _ = LogEntry.objects.filter(content_type=content_type, object_pk__in=keys).delete()
    return deleted


def action_label(entry: LogEntry) -> str:
    """What the entry records, in words: creation, change, deletion, access."""
    return str(ACTIONS.get(entry.action, entry.get_action_display()))


def _value(field: models.Field | None, value: object) -> str:
    """One stored value (django-auditlog keeps text) as words, through the field's choices."""
    if value is None or (isinstance(value, str) and (value in _EMPTY or value.endswith(".None"))):
        return labels.EMPTY
    if field is not None and isinstance(field, models.BooleanField):
        return labels.plain_value({"True": True, "False": False}.get(str(value), value))
    if field is not None and isinstance(field, models.DateTimeField):
        moment = parse_datetime(str(value))
        if moment is not None:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, UTC)
            return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M:%S")
    if field is not None and isinstance(field, models.ForeignKey):
        try:
            related = field.related_model._default_manager.filter(pk=str(value)).first()
        except (ValueError, ValidationError):
            related = None
        return str(related) if related is not None else str(value)
    choices = {str(k): v for k, v in getattr(field, "flatchoices", None) or ()}
    if str(value) in choices:
        return str(choices[str(value)])
    return labels.plain_value(value)


def readable_changes(
    model: type[models.Model], changes: dict[str, object], *, hidden: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """A history entry's changes as (field's verbose name, "before → after") pairs.

    Reverse relations (nothing the person typed) and ``hidden`` fields are left out.
    """
    rows = []
    for name, values in changes.items():
        if name in hidden:
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is not None and (field.auto_created or not field.concrete):
            continue
        label = str(field.verbose_name) if field is not None else labels.key_label(name)
        concrete = field if isinstance(field, models.Field) else None
        if isinstance(values, list | tuple) and len(values) == 2:
            before, after = (_value(concrete, v) for v in values)
            text = after if before == labels.EMPTY else f"{before} → {after}"
        else:
            text = labels.plain_value(values)
        rows.append((label, text))
    return rows
