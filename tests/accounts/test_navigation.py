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
