"""Helpers for the REST API's views, shared by every app."""

from __future__ import annotations

from typing import TypeVar

from rest_framework.serializers import BaseSerializer

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
