"""API plumbing shared by every app: errors as precise JSON, never a 500 for bad input."""

from __future__ import annotations

import errno
import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

#: Storage failures the person can do nothing about but retry later: a 503 that says so.
STORAGE_FULL = (errno.ENOSPC, errno.EDQUOT)


def exception_handler(exc: Exception, context: dict[str, Any]):
    """Model validation errors raised by services become 400s with the field messages.

    A full store (ENOSPC, quota) becomes a 503 naming the cause; the service wrote nothing.
    """
    if isinstance(exc, OSError) and exc.errno in STORAGE_FULL:
        logger.error("storage full: %s", exc)
        return Response(
            {
                "detail": _(
                    "Espace de stockage insuffisant : rien n'a été enregistré. Réessayez "
                    "plus tard ; l'administrateur est prévenu."
                )
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)
