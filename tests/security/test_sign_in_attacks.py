"""Sign-in attacks: stolen token stores, forgotten tokens, spraying, locking a colleague out,
and an administrator who knows a password they chose.

Each test acts as the attacker does, through the real sign-in page and API.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, User
from accounts.roles import Role
from tests.conftest import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Lac-du-Bourget-2026!"


def token_for(user: User) -> str:
    response = sign_in(Client(), user).post("/api/auth/token/")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def api(token: str, path: str = "/api/me/"):
    return Client().get(path, HTTP_AUTHORIZATION=f"Token {token}")


def password_step(username: str, password: str, address: str, **headers):
    return Client(REMOTE_ADDR=address, **headers).post(
        "/comptes/login/", {"username": username, "password": password}
    )


# --- API tokens -----------------------------------------------------------------------------


def test_a_copy_of_the_token_table_gives_no_usable_token(operator):
    token = token_for(operator)
    assert api(token).status_code == 200
    # The attacker reads every column of every stored token (a backup, an SQL injection).
    table = ApiToken._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table name)
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert token not in stored
    for value in stored:
        assert api(value).status_code in (401, 403)
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_signing_out_revokes_the_api_token(operator):
    client = sign_in(Client(), operator)
    token = client.post("/api/auth/token/").json()["token"]
    assert api(token).status_code == 200
    client.post("/comptes/logout/")
    refused = api(token)
    assert refused.status_code in (401, 403)
    assert not ApiToken.objects.filter(user=operator).exists()


def test_changing_ones_password_revokes_the_api_token(operator):
    token = token_for(operator)
    response = sign_in(Client(), operator).post(
        "/comptes/mot-de-passe/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert api(token).status_code in (401, 403)


def test_an_administrators_password_reset_revokes_the_holders_token(operator, admin_user):
    token = token_for(operator)
    reset = sign_in(Client(), admin_user).patch(
        f"/api/users/{operator.pk}/", {"password": NEW_PASSWORD}, content_type="application/json"
    )
    assert reset.status_code == 200
    assert api(token).status_code in (401, 403)


def test_a_second_factor_reset_revokes_the_api_token(operator, admin_user):
    """A stolen phone: the administrator resets the second factor; the thief's token dies."""
    token = token_for(operator)
    response = sign_in(Client(), admin_user).post(
        f"/comptes/utilisateurs/{operator.pk}/second-facteur/", {"reason": "téléphone volé"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert api(token).status_code in (401, 403)


# --- Lockout --------------------------------------------------------------------------------


@pytest.fixture
def victim(db) -> User:
    return UserFactory(username="victime", role=Role.OPERATOR)


def test_password_spraying_from_one_address_is_locked_out(settings, victim):
    settings.LOCKOUT_IP_FAILURE_LIMIT = 6
    attacker = "203.0.113.66"
    for n in range(settings.LOCKOUT_IP_FAILURE_LIMIT):
        # One guess per account: the per-account limit is never reached.
        UserFactory(username=f"agent{n}")
        password_step(f"agent{n}", "Printemps2026!", attacker)
    # The address is locked now, whichever account it tries, even with the right password.
    assert password_step(victim.username, PASSWORD, attacker).status_code == 429
    # Everyone else signs in as usual.
    assert password_step(victim.username, PASSWORD, "198.51.100.10").status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lockout(settings, victim):
    settings.LOCKOUT_IP_FAILURE_LIMIT = 4
    attacker = "203.0.113.66"
    for n in range(settings.LOCKOUT_IP_FAILURE_LIMIT):
        UserFactory(username=f"agent{n}")
        password_step(
            f"agent{n}", "Printemps2026!", attacker, HTTP_X_FORWARDED_FOR=f"10.0.0.{n + 1}"
        )
    locked = password_step(victim.username, PASSWORD, attacker, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert locked.status_code == 429


def test_nobody_locks_a_chosen_colleague_out_from_elsewhere(victim):
    attacker = "203.0.113.66"
    responses = [
        password_step(victim.username, f"mauvais-{n}", attacker)
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert responses[-1].status_code == 429  # the attacker's guessing stops
    assert password_step(victim.username, PASSWORD, attacker).status_code == 429
    # The victim, at their own workstation, signs in.
    assert password_step(victim.username, PASSWORD, "198.51.100.10").status_code == 302


def _move_back(minutes: int) -> None:
    """As if every recorded failure had happened ``minutes`` earlier."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=minutes)
        attempt.save(update_fields=["attempt_time"])


def test_hammering_a_locked_account_does_not_keep_it_locked(victim):
    address = "203.0.113.66"
    cool_off = settings.AXES_COOLOFF_TIME
    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(victim.username, f"mauvais-{n}", address)
    assert password_step(victim.username, PASSWORD, address).status_code == 429
    minutes = int(cool_off.total_seconds() // 60)
    _move_back(minutes - 1)  # one minute before the lockout lifts, the attacker tries again
    for n in range(3):
        assert password_step(victim.username, f"encore-{n}", address).status_code == 429
    _move_back(2)  # the cool-off counted from the lockout is over
    assert AccessAttempt.objects.filter(attempt_time__gt=timezone.now() - cool_off).count() == 0
    assert password_step(victim.username, PASSWORD, address).status_code == 302


# --- A password an administrator chose ----------------------------------------------------------


def test_an_account_created_by_an_administrator_must_change_its_password_first(admin_user):
    created = sign_in(Client(), admin_user).post(
        "/api/users/",
        {"username": "nouvel.agent", "role": Role.OPERATOR, "password": NEW_PASSWORD},
        content_type="application/json",
    )
    assert created.status_code == 201
    newcomer = User.objects.get(username="nouvel.agent")
    assert newcomer.must_change_password
    client = sign_in(Client(), newcomer)
    # Every page leads to the password page; the API answers in precise JSON.
    for path in ("/accueil/", "/exploitation/signalements/", "/cameras/"):
        held = client.get(path)
        assert held.status_code == 302 and held["Location"] == "/comptes/mot-de-passe/", path
    refused = client.get("/api/me/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    assert client.post("/api/auth/token/").status_code == 403
    page = client.get("/comptes/mot-de-passe/")
    assert page.status_code == 200 and "choisi par un administrateur" in page.content.decode()

    # The administrator's own choice is refused as the new password.
    same = client.post(
        "/comptes/mot-de-passe/",
        {
            "old_password": NEW_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert same.status_code == 200
    own = "Mon-secret-a-moi-2026!"
    changed = client.post(
        "/comptes/mot-de-passe/",
        {"old_password": NEW_PASSWORD, "new_password1": own, "new_password2": own},
    )
    assert changed.status_code == 302
    assert client.get("/accueil/").status_code == 200  # the session survives the change
    assert client.get("/api/me/").status_code == 200
    newcomer.refresh_from_db()
    assert not newcomer.must_change_password and newcomer.check_password(own)


def test_an_administrators_reset_forces_a_change_at_next_sign_in(operator, admin_user):
    sign_in(Client(), admin_user).patch(
        f"/api/users/{operator.pk}/", {"password": NEW_PASSWORD}, content_type="application/json"
    )
    operator.refresh_from_db()  # as at the next sign-in: the new password's hash
    client = sign_in(Client(), operator)
    assert client.get("/accueil/")["Location"] == "/comptes/mot-de-passe/"


def test_the_password_page_wants_the_old_password_and_the_cnil_policy(operator):
    client = sign_in(Client(), operator)
    wrong = client.post(
        "/comptes/mot-de-passe/",
        {
            "old_password": "pas-le-bon",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert "L&#x27;ancien mot de passe est incorrect." in wrong.content.decode()
    weak = client.post(
        "/comptes/mot-de-passe/",
        {"old_password": PASSWORD, "new_password1": "Court1!", "new_password2": "Court1!"},
    )
    assert weak.status_code == 200 and "trop court" in weak.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


def test_a_script_signs_its_token_out_and_the_token_is_dead(operator):
    token = token_for(operator)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete("/api/auth/token/").status_code == 204
    assert api(token).status_code in (401, 403)


def test_guessing_the_old_password_from_a_stolen_session_is_locked_out(operator):
    """A session left open: the thief tries old passwords at the password page."""
    client = sign_in(Client(), operator)
    responses = [
        client.post(
            "/comptes/mot-de-passe/",
            {"old_password": f"essai-{n}", "new_password1": NEW_PASSWORD}
            | {"new_password2": NEW_PASSWORD},
        )
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert all(r.status_code == 200 for r in responses[:-1])
    assert responses[-1].status_code == 429
    # Even the right old password is refused now: the guessing stops.
    right = client.post(
        "/comptes/mot-de-passe/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert right.status_code == 429
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
