"""What the camera map and the live wall ask of the recorders: each camera's recording alert.

``recordings`` sits above ``cameras`` in the apps' layers (and beside ``live``): neither the
register nor the wall imports it. The project wires the recorders' rule in at start-up
(``csu.apps``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

#: camera ids → {camera id: the alert's text, "" while it records}.
AlertRule = Callable[[list[int]], dict[int, str]]

_rule: AlertRule | None = None


def provide(rule: AlertRule) -> None:
    global _rule
    _rule = rule


def recording_alerts(camera_ids: list[int]) -> dict[int, str]:
    """Each camera's recording alert, by the recorders' own rule."""
    if _rule is None:
        raise ImproperlyConfigured("no recording-alert rule wired in (csu.apps)")
    return _rule(camera_ids)
