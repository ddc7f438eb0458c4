"""Helpers for the REST API's views, shared by every app."""

from __future__ import annotations

from datetime import UTC
from typing import Any, TypeVar

from rest_framework.serializers import BaseSerializer, DateTimeField

_T = TypeVar("_T")


def instance_of(serializer: BaseSerializer[_T]) -> _T:
    """The object that an update's serializer changes.

    DRF's ``UpdateModelMixin`` gives the serializer the object it fetched before calling
    ``perform_update``: a serializer without one is a programming error, said as such.
    """
    instance = serializer.instance
    if instance is None:
        raise TypeError(f"{type(serializer).__name__} was given no object to update")
    return instance


class UTCDateTimeField(DateTimeField):
    """Machine field: ISO-8601 in UTC with its ``Z``, whatever the server's zone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(*args, **kwargs)
