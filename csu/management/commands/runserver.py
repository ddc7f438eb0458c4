"""``runserver`` that refuses a production start on the demo's leftovers, as gunicorn does."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as RunserverCommand,
)

from csu.startup import refuse_unsafe_start


class Command(RunserverCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        try:
            refuse_unsafe_start("development server")
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        super().handle(*args, **options)
