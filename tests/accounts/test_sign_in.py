"""Signing in through the real pages: password, TOTP, enrolment, lockout, sign-out, expiry."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.passwords import CnilComplexityValidator
from accounts.roles import Role
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    return "000000" if current_code(device) != "000000" else "111111"


def password_step(client: Client, username: str, password: str = PASSWORD):
    return client.post("/comptes/login/", {"username": username, "password": password})


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def enrolled_operator(operator) -> tuple:
    device = TOTPDevice.objects.create(user=operator, name="TOTP", confirmed=True)
    return operator, device


def test_password_then_totp_code_opens_the_home_page(enrolled_operator):
    user, device = enrolled_operator
    client = Client()
    assert password_step(client, user.username).status_code == 302
    # The password alone opens nothing: every page leads to the code page.
    held = client.get("/accueil/")
    assert held.status_code == 302 and held["Location"] == "/comptes/otp/"
    assert client.get("/comptes/utilisateurs/").status_code == 302
    response = client.post("/comptes/otp/", {"token": current_code(device)})
    assert response.status_code == 302 and response["Location"] == "/accueil/"
    assert client.get("/accueil/").status_code == 200
    login = AuditEvent.objects.get(action="auth.login")
    assert login.actor_id == user.pk and login.details == {"second_factor": "totp"}


def test_wrong_totp_code_is_refused_and_audited(enrolled_operator):
    user, device = enrolled_operator
    client = Client()
    password_step(client, user.username)
    response = client.post("/comptes/otp/", {"token": wrong_code(device)})
    assert response.status_code == 200
    assert "Code incorrect" in response.content.decode()
    assert client.get("/accueil/").status_code == 302
    failed = AuditEvent.objects.get(action="auth.second_factor_failed")
    assert failed.actor_id == user.pk
    assert "auth.login" not in actions()
    # Right away, even the right code waits: django-otp throttles after a failure.
    again = client.post("/comptes/otp/", {"token": current_code(device)})
    assert "patientez quelques instants" in again.content.decode()
    assert client.get("/accueil/").status_code == 302


def test_wrong_password_is_refused_and_audited(enrolled_operator):
    user, _device = enrolled_operator
    response = password_step(Client(), user.username, "pas-le-bon-mot-de-passe")
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in response.content.decode()
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.target_label == user.username


def test_a_new_account_enrols_its_second_factor(db):
    user = UserFactory(role=Role.SUPERVISOR)
    client = Client()
    password_step(client, user.username)
    held = client.get("/accueil/")
    assert held.status_code == 302 and held["Location"] == "/comptes/otp/setup/"
    page = client.get("/comptes/otp/setup/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    response = client.post("/comptes/otp/setup/", {"token": current_code(device)})
    assert response.status_code == 302 and response["Location"] == "/accueil/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/accueil/").status_code == 200
    assert "auth.second_factor_enrolled" in actions()


def test_repeated_wrong_passwords_lock_the_account(enrolled_operator):
    user, _device = enrolled_operator
    client = Client()
    responses = [
        password_step(client, user.username, f"mauvais-{n}")
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert all(r.status_code == 200 for r in responses[:-1])
    assert responses[-1].status_code == 429
    # Even the right password is refused now, with a page in French.
    locked = password_step(Client(), user.username)
    assert locked.status_code == 429
    assert "Compte temporairement verrouillé" in locked.content.decode()
    assert AuditEvent.objects.filter(action="auth.locked_out", target_label=user.username).exists()
    assert "auth.login" not in actions()


def test_sign_out_needs_a_post_and_is_audited(enrolled_operator):
    user, device = enrolled_operator
    client = Client()
    password_step(client, user.username)
    client.post("/comptes/otp/", {"token": current_code(device)})
    confirm = client.get("/comptes/logout/")
    assert confirm.status_code == 200
    assert client.get("/accueil/").status_code == 200  # a GET signs nobody out
    response = client.post("/comptes/logout/")
    assert response.status_code == 302
    assert client.get("/accueil/")["Location"].startswith("/comptes/login/")
    logout = AuditEvent.objects.get(action="auth.logout")
    assert logout.actor_id == user.pk


def test_idle_session_expires(enrolled_operator):
    user, device = enrolled_operator
    assert settings.SESSION_SAVE_EVERY_REQUEST  # each request pushes the expiry back
    client = Client()
    password_step(client, user.username)
    client.post("/comptes/otp/", {"token": current_code(device)})
    assert client.get("/accueil/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((session.expire_date - expected).total_seconds()) < 60
    # After the idle time, the next request lands on the sign-in page.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/accueil/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/login/")


def test_idle_expiry_defaults_to_thirty_minutes(monkeypatch):
    from csu import settings as project_settings

    if "CSU_SESSION_IDLE_MINUTES" not in os.environ:
        assert project_settings.SESSION_COOKIE_AGE == 30 * 60
    assert project_settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


# --- Password policy (CNIL deliberation 2022-100) -----------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["motdepasse12", "MOTDEPASSE12", "Motdepasse12", "Motdepasse!!", "12345678!!!!"],
)
def test_short_passwords_must_mix_four_kinds(password):
    with pytest.raises(ValidationError) as refused:
        CnilComplexityValidator().validate(password)
    assert refused.value.code == "password_too_simple"


@pytest.mark.parametrize("password", ["Motdepasse1!", "une phrase de passe longue"])
def test_mixed_or_long_passwords_pass(password):
    CnilComplexityValidator().validate(password)


def test_the_project_policy_refuses_short_and_common_passwords():
    for weak in ["Ab1!ab1!", "azertyuiop123", "123456789012345"]:
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("Vélo-Lac-Bourget-42")


# --- First sign-in with a password an administrator chose ---------------------------------------


def test_first_sign_in_goes_password_then_second_factor_then_own_password(signed_in, admin_user):
    chosen, own = "Choisi-par-admin-2026!", "Mon-propre-secret-2026!"
    created = signed_in(admin_user).post(
        "/comptes/utilisateurs/nouveau/",
        {
            "username": "nouvelle.recrue",
            "first_name": "Nina",
            "last_name": "Roux",
            "role": Role.OPERATOR,
            "password1": chosen,
            "password2": chosen,
        },
    )
    assert created.status_code == 302
    client = Client()
    assert password_step(client, "nouvelle.recrue", chosen).status_code == 302
    # The second factor first: the password page is not open before it.
    assert client.get("/comptes/mot-de-passe/")["Location"] == "/comptes/otp/setup/"
    client.get("/comptes/otp/setup/")
    device = TOTPDevice.objects.get(user__username="nouvelle.recrue")
    enrolled = client.post("/comptes/otp/setup/", {"token": current_code(device)})
    assert enrolled.status_code == 302
    # Then the password, before anything else.
    assert client.get("/accueil/")["Location"] == "/comptes/mot-de-passe/"
    changed = client.post(
        "/comptes/mot-de-passe/",
        {"old_password": chosen, "new_password1": own, "new_password2": own},
    )
    assert changed.status_code == 302 and changed["Location"] == "/accueil/"
    assert client.get("/accueil/").status_code == 200
    assert "account.password_changed" in actions()
    # The change is done for good: the next sign-in asks only for the usual code.
    assert not User.objects.get(username="nouvelle.recrue").must_change_password
    again = Client()
    assert password_step(again, "nouvelle.recrue", own).status_code == 302
    assert again.get("/accueil/")["Location"] == "/comptes/otp/"
