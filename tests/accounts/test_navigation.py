"""The menu offers each role only pages it may open."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from tests.permissions import make_person

pytestmark = pytest.mark.django_db


#: Today's menu of each role, in order, as the signed-in page shows it (label, address).
MENU = {
    Role.OPERATOR: [
        ("Accueil", "/accueil/"),
        ("Caméras", "/cameras/"),
        ("Mur d'images", "/direct/"),
        ("Santé des caméras", "/cameras/sante/"),
        ("Autorisations préfectorales", "/cameras/autorisations/"),
        ("Enregistreurs", "/enregistrements/exploitation/"),
        ("Tableau de bord", "/exploitation/"),
        ("Signalements", "/exploitation/signalements/"),
        ("Vacations", "/exploitation/vacations/"),
        ("API", "/api/docs/"),
    ],
    Role.SUPERVISOR: [
        ("Accueil", "/accueil/"),
        ("Caméras", "/cameras/"),
        ("Mur d'images", "/direct/"),
        ("Santé des caméras", "/cameras/sante/"),
        ("Autorisations préfectorales", "/cameras/autorisations/"),
        ("Relecture", "/enregistrements/relecture/"),
        ("Enregistreurs", "/enregistrements/exploitation/"),
        ("Tableau de bord", "/exploitation/"),
        ("Signalements", "/exploitation/signalements/"),
        ("Vacations", "/exploitation/vacations/"),
        ("Statistiques", "/exploitation/statistiques/"),
        ("Registre des destructions", "/conservation/destructions/"),
        ("Gels des images", "/conservation/gels/"),
        ("Réquisitions", "/requisitions/"),
        ("Registres des extractions", "/requisitions/registres/"),
        ("Demandes d'accès", "/conformite/demandes-acces/"),
        ("API", "/api/docs/"),
    ],
    Role.OPJ: [
        ("Accueil", "/accueil/"),
        ("Réquisitions", "/requisitions/"),
        ("API", "/api/docs/"),
    ],
    Role.MAGISTRATE: [
        ("Accueil", "/accueil/"),
        ("Réquisitions", "/requisitions/"),
        ("API", "/api/docs/"),
    ],
    Role.DPO: [
        ("Accueil", "/accueil/"),
        ("Utilisateurs", "/comptes/utilisateurs/"),
        ("Habilitations", "/comptes/habilitations/"),
        ("Journal d'audit", "/audit/"),
        ("Caméras", "/cameras/"),
        ("Autorisations préfectorales", "/cameras/autorisations/"),
        ("Statistiques", "/exploitation/statistiques/"),
        ("Registre des destructions", "/conservation/destructions/"),
        ("Gels des images", "/conservation/gels/"),
        ("Registres des extractions", "/requisitions/registres/"),
        ("Conformité", "/conformite/"),
        ("Demandes d'accès", "/conformite/demandes-acces/"),
        ("API", "/api/docs/"),
    ],
    Role.ADMIN: [
        ("Accueil", "/accueil/"),
        ("Utilisateurs", "/comptes/utilisateurs/"),
        ("Habilitations", "/comptes/habilitations/"),
        ("Caméras", "/cameras/"),
        ("Santé des caméras", "/cameras/sante/"),
        ("Autorisations préfectorales", "/cameras/autorisations/"),
        ("Enregistreurs", "/enregistrements/exploitation/"),
        ("Statistiques", "/exploitation/statistiques/"),
        ("API", "/api/docs/"),
    ],
}


def test_every_role_is_pinned():
    assert set(MENU) == set(Role.values)


@pytest.mark.parametrize("role", Role.values)
def test_each_role_sees_its_menu_in_order(role, signed_in):
    entries = signed_in(make_person(role)).get("/accueil/").context["nav_items"]
    assert [(entry["label"], entry["url"]) for entry in entries] == MENU[role]


def test_the_menu_is_translated(signed_in):
    client = signed_in(make_person(Role.SUPERVISOR))
    client.post("/i18n/setlang/", {"language": "en", "next": "/accueil/"})
    labels = [entry["label"] for entry in client.get("/accueil/").context["nav_items"]]
    assert labels[:3] == ["Home", "Cameras", "Video wall"], labels


@pytest.mark.parametrize("role", Role.values)
def test_every_menu_entry_opens_for_its_role(role, signed_in):
    person = make_person(role)
    client = signed_in(person)
    entries = client.get("/accueil/").context["nav_items"]  # as the signed-in page builds it
    assert entries, f"{role} has no menu"
    refused = {
        entry["url"]: status
        for entry in entries
        if (status := client.get(entry["url"]).status_code) != 200
    }
    assert refused == {}, f"menu entries of {role} that do not open: {refused}"


def test_every_signed_in_person_finds_the_password_page_beside_their_name(signed_in):
    for role in Role.values:
        page = signed_in(make_person(role)).get("/accueil/").content.decode()
        assert 'href="/comptes/mot-de-passe/"' in page, role


def test_a_forced_password_change_hides_the_menu(signed_in):
    person = make_person(Role.OPERATOR, must_change_password=True)
    page = signed_in(person).get("/comptes/mot-de-passe/").content.decode()
    assert 'aria-label="Navigation principale"' not in page
