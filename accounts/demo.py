"""Demo people for the embedded default: one account per role, with a TOTP device each."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.actors import Actor, SystemActor
from accounts.models import Service, User
from accounts.roles import Right, Role
from csu.lib.env import write_secret_once

DEMO_DEVICE_NAME = "démo"
#: Every demo account carries a badge number with this prefix (the mark a production start
#: looks for).
DEMO_BADGE_PREFIX = "DEMO-"

SERVICES = [
    ("commissariat-chambery", "Commissariat de police de Chambéry", Service.Kind.POLICE_NATIONALE),
    ("brigade-la-motte", "Brigade de gendarmerie de La Motte-Servolex", Service.Kind.GENDARMERIE),
    ("parquet-chambery", "Parquet du tribunal judiciaire de Chambéry", Service.Kind.PARQUET),
    ("csu-chambery", "CSU de Chambéry", Service.Kind.CSU),
]


@dataclass(frozen=True)
class DemoPerson:
    username: str
    role: str
    first_name: str
    last_name: str
    service: str | None
    rights: tuple[str, ...] = ()


PEOPLE = [
    DemoPerson("operateur", Role.OPERATOR, "Camille", "Martin", "csu-chambery", ("live",)),
    DemoPerson(
        "chef",
        Role.SUPERVISOR,
        "Dominique",
        "Bernard",
        "csu-chambery",
        ("live", "replay", "extract"),
    ),
    DemoPerson("opj", Role.OPJ, "Alex", "Durand", "commissariat-chambery"),
    DemoPerson("opj.gendarmerie", Role.OPJ, "Sacha", "Petit", "brigade-la-motte"),
    DemoPerson("magistrat", Role.MAGISTRATE, "Claude", "Moreau", "parquet-chambery"),
    DemoPerson("dpo", Role.DPO, "Morgan", "Laurent", None),
    DemoPerson("admin", Role.ADMIN, "Lou", "Garnier", "csu-chambery"),
    # The commissariat's remote station: live only, on the cameras of the city's agreement.
    DemoPerson(
        "poste.police",
        Role.POLICE_STATION,
        "Charlie",
        "Roux",
        "commissariat-chambery",
        ("live",),
    ),
]


def demo_password() -> str:
    """One password for every demo account, made at first run and kept under var/secrets/."""
    path = Path(settings.DATA_DIR) / "secrets" / "demo_password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    # Four kinds of characters, 16 long: accepted by the CNIL password policy.
    password = f"Csu-{secrets.token_hex(4)}-{secrets.token_hex(3).upper()}!"
    return write_secret_once(path, password)


@transaction.atomic
def load_demo_people() -> list[User]:
    if settings.PRODUCTION:
        raise RuntimeError("demo accounts are never created in production")
    password = demo_password()
    services_by_code = {}
    for code, name, kind in SERVICES:
        services_by_code[code], _ = Service.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind}
        )
    people: list[User] = []
    today = timezone.localdate()
    for person in PEOPLE:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            user = services.user_create(
                username=person.username,
                password=password,
                role=person.role,
                first_name=person.first_name,
                last_name=person.last_name,
                service=services_by_code.get(person.service) if person.service else None,
                badge_number=f"{DEMO_BADGE_PREFIX}{person.username.upper()}",
                actor=SystemActor("manage.py load_demo"),
            )
            if person.rights:
                # The training is the person's (CSI L255-1): recorded once, before the decision.
                services.training_record(
                    user=user,
                    held_on=today - timedelta(days=60),
                    title="Formation à la vidéoprotection (démonstration)",
                    actor=SystemActor("manage.py load_demo"),
                )
                services.habilitation_create(
                    user=user,
                    decision_reference=f"ARR-DEMO-{today.year}-{len(people) + 1:03d}",
                    issuer="Maire de Chambéry",
                    valid_from=today - timedelta(days=30),
                    valid_until=today + timedelta(days=335),
                    all_cameras=True,
                    actor=SystemActor("manage.py load_demo"),
                    can_live=Right.LIVE in person.rights,
                    can_replay=Right.REPLAY in person.rights,
                    can_extract=Right.EXTRACT in person.rights,
                )
        if user.requires_second_factor and not TOTPDevice.objects.filter(user=user).exists():
            TOTPDevice.objects.create(user=user, name=DEMO_DEVICE_NAME, confirmed=True)
        people.append(user)
    return people


def current_code(user: User) -> str:
    """The TOTP code a demo account's device shows now (demo devices only, never in production)."""
    if settings.PRODUCTION:
        raise RuntimeError("not available in production")
    device = TOTPDevice.objects.get(user=user, name=DEMO_DEVICE_NAME)
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def demo_accounts() -> QuerySet[User]:
    """Active demo accounts: their shared password was printed on a console and kept on disk."""
    return User.objects.filter(badge_number__startswith=DEMO_BADGE_PREFIX, is_active=True)


def demo_devices() -> QuerySet[TOTPDevice]:
    """Demo TOTP devices: ``demo_totp`` prints their codes to whoever has a shell."""
    return TOTPDevice.objects.filter(name=DEMO_DEVICE_NAME)


@transaction.atomic
def demo_access_remove(*, actor: Actor) -> tuple[list[str], list[str]]:
    """Close the doors the demo left open: demo devices removed, demo accounts deactivated.

    Returns (accounts deactivated, accounts whose second factor was reset). Nothing is deleted:
    the audit trail keeps naming who did what during the demo.
    """
    reason = "Dispositif TOTP de démonstration retiré avant la mise en production"
    reset = []
    for user in User.objects.filter(pk__in=demo_devices().values("user_id")).order_by("pk"):
        services.second_factor_reset(user=user, actor=actor, reason=reason)
        reset.append(user.username)
    deactivated = []
    for user in demo_accounts().order_by("pk"):
        user.set_unusable_password()
        user.save(update_fields=["password"])
        services.user_update(user=user, actor=actor, is_active=False)
        deactivated.append(user.username)
    return deactivated, reset
