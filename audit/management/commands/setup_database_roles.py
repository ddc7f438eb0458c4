from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit import database_roles


class Command(BaseCommand):
    help = (
        "As the owner of the tables, create or update the application's PostgreSQL role named "
        "by CSU_APP_DATABASE_URL: INSERT and SELECT only on the audit tables."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default", help="connection of the owner")

    def handle(self, *args, database: str = "default", **options) -> None:
        try:
            role = database_roles.app_role_from_settings()
            if role is None:
                raise database_roles.RoleSetupError(
                    "CSU_APP_DATABASE_URL is not set: it names the application's role"
                )
            counts = database_roles.setup_application_role(role=role, using=database)
        except database_roles.RoleSetupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"role {role.name}: SELECT, INSERT on {counts['audit_tables']} audit tables; "
            f"SELECT, INSERT, UPDATE, DELETE on {counts['other_tables']} other tables"
        )
