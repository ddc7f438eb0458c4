"""The field-level history (django-auditlog) of records whose details are purged.

An anonymised record must not survive in its own change history: its entries go with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models


def forget(model: type[models.Model], pks: Iterable[object]) -> int:
    """Delete the change history of the rows ``pks`` of ``model``; how many entries went."""
    keys = [str(pk) for pk in pks]
    if not keys:
        return 0
    content_type = ContentType.objects.get_for_model(model)
    deleted, _ = LogEntry.objects.filter(content_type=content_type, object_pk__in=keys).delete()
    return deleted
