from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.actors import SystemActor
from accounts.demo import demo_access_remove


class Command(BaseCommand):
    help = (
        "Deactivate the demo accounts and remove the demo TOTP devices (audited); a production "
        "start refuses while any is left."
    )

    def handle(self, *args, **options) -> None:
        deactivated, reset = demo_access_remove(actor=SystemActor("manage.py remove_demo_access"))
        for username in reset:
            self.stdout.write(f"second facteur de démonstration retiré : {username}")
        for username in deactivated:
            self.stdout.write(f"compte de démonstration désactivé : {username}")
        if not (deactivated or reset):
            self.stdout.write("aucun compte ni dispositif de démonstration actif")
