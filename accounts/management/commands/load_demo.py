from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.demo import demo_password, load_demo_people


class Command(BaseCommand):
    help = "Create the demo accounts (one per role) if they do not exist, and print how to sign in."

    def handle(self, *args, **options) -> None:
        people = load_demo_people()
        self.stdout.write(self.style.SUCCESS("Comptes de démonstration / demo accounts"))
        self.stdout.write(f"  mot de passe commun / shared password : {demo_password()}")
        for user in people:
            self.stdout.write(f"  {user.username:<18} {user.get_role_display()}")
        self.stdout.write(
            "  code TOTP / TOTP code : python manage.py demo_totp IDENTIFIANT "
            "(ou scannez la clé avec une application)"
        )
