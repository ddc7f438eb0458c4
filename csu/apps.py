from __future__ import annotations

from django.apps import AppConfig


class CsuConfig(AppConfig):
    """The project package as an app: its start-up checks and its ``runserver``."""

    name = "csu"
    verbose_name = "CSU"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from cameras import recording_state
        from csu import startup  # noqa: F401  (registers the check --deploy of the demo leftovers)
        from csu.lib.search import install_unaccent
        from recordings.selectors import recording_alerts

        # Below the recorders, the camera map and the live wall (a sibling of the recorders)
        # show each camera's recording alert by the recorders' own rule.
        recording_state.provide(recording_alerts)
        # Searches ignore accents on SQLite as PostgreSQL's unaccent does.
        connection_created.connect(install_unaccent, dispatch_uid="csu.unaccent")
