"""Each demo account signs in through the real pages (password, then TOTP) and sees its home."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.demo import PEOPLE, current_code, demo_password, load_demo_people
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HOME_TITLES = {
    "operator": "Accueil opérateur",
    "supervisor": "Accueil chef de salle",
    "opj": "Accueil officier de police judiciaire",
    "magistrate": "Accueil magistrat",
    "dpo": "Accueil délégué à la protection des données",
    "admin": "Accueil administrateur",
    "police_station": "Accueil poste déporté de la Police nationale",
}


def test_demo_data_is_idempotent():
    load_demo_people()
    load_demo_people()
    assert AuditEvent.objects.filter(action="account.created").count() == len(PEOPLE)


@pytest.mark.parametrize("person", PEOPLE, ids=lambda p: p.username)
def test_each_demo_account_signs_in_and_sees_its_home(person):
    people = {u.username: u for u in load_demo_people()}
    user = people[person.username]
    client = Client()

    response = client.post(
        "/comptes/login/", {"username": user.username, "password": demo_password()}
    )
    assert response.status_code == 302 and response["Location"] == "/accueil/"
    assert client.get("/accueil/")["Location"] == "/comptes/otp/"  # second factor still owed

    response = client.post("/comptes/otp/", {"token": current_code(user)})
    assert response.status_code == 302

    home = client.get("/accueil/")
    assert home.status_code == 200
    assert HOME_TITLES[person.role] in home.content.decode()
    assert AuditEvent.objects.filter(action="auth.login", actor_id=user.pk).exists()
