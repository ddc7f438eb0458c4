from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import current_code
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Print the current TOTP code of a demo account (demo devices only; refused in production)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no account named {username!r}")
        try:
            self.stdout.write(current_code(user))
        except TOTPDevice.DoesNotExist:
            raise CommandError(f"{username!r} has no demo TOTP device") from None
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
