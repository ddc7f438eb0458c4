"""The menu offers each role only pages it may open."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from tests.permissions import make_person

pytestmark = pytest.mark.django_db


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
