"""The menu offers each role only pages it may open."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from accounts import navigation
from accounts.roles import ROLE_RIGHTS, Right, Role
from tests import matrix_coverage
from tests.factories import HabilitationFactory
from tests.permissions import make_person

pytestmark = pytest.mark.django_db


HOME = ("", [("Accueil", "/accueil/")])
API = ("", [("API", "/api/docs/")])

#: Today's menu of each role, in order, as the signed-in page shows it: its sections (the
#: entries outside any have none), each with its entries (label, address).
MENU = {
    Role.OPERATOR: [
        HOME,
        (
            "Salle",
            [
                ("Tableau de bord", "/exploitation/"),
                ("Alarmes", "/exploitation/alarmes/"),
                ("Signalements", "/exploitation/signalements/"),
                ("Vacations", "/exploitation/vacations/"),
            ],
        ),
        ("Vidéo", [("Mur d'images", "/direct/")]),
        (
            "Caméras",
            [
                ("Caméras", "/cameras/"),
                ("Carte des caméras", "/cameras/carte/"),
                ("Équipements", "/cameras/equipements/"),
                ("Santé des caméras", "/cameras/sante/"),
                ("Autorisations préfectorales", "/cameras/autorisations/"),
                ("Enregistreurs", "/enregistrements/exploitation/"),
            ],
        ),
        API,
    ],
    Role.SUPERVISOR: [
        HOME,
        (
            "Salle",
            [
                ("Tableau de bord", "/exploitation/"),
                ("Alarmes", "/exploitation/alarmes/"),
                ("Signalements", "/exploitation/signalements/"),
                ("Vacations", "/exploitation/vacations/"),
                ("Statistiques", "/exploitation/statistiques/"),
            ],
        ),
        (
            "Vidéo",
            [("Mur d'images", "/direct/"), ("Relecture", "/enregistrements/relecture/")],
        ),
        (
            "Caméras",
            [
                ("Caméras", "/cameras/"),
                ("Carte des caméras", "/cameras/carte/"),
                ("Équipements", "/cameras/equipements/"),
                ("Santé des caméras", "/cameras/sante/"),
                ("Autorisations préfectorales", "/cameras/autorisations/"),
                ("Échéances des autorisations", "/cameras/autorisations/alertes/"),
                ("Arrêts faute d'autorisation", "/cameras/arrets-autorisation/"),
                ("Enregistreurs", "/enregistrements/exploitation/"),
            ],
        ),
        (
            "Réquisitions",
            [
                ("Réquisitions", "/requisitions/"),
                ("Registres des extractions", "/requisitions/registres/"),
            ],
        ),
        (
            "Conformité",
            [
                ("Registre des destructions", "/conservation/destructions/"),
                ("Gels des images", "/conservation/gels/"),
                ("Demandes d'accès", "/conformite/demandes-acces/"),
            ],
        ),
        API,
    ],
    Role.OPJ: [HOME, ("Réquisitions", [("Réquisitions", "/requisitions/")]), API],
    Role.MAGISTRATE: [HOME, ("Réquisitions", [("Réquisitions", "/requisitions/")]), API],
    Role.DPO: [
        HOME,
        ("Salle", [("Statistiques", "/exploitation/statistiques/")]),
        (
            "Caméras",
            [
                ("Caméras", "/cameras/"),
                ("Carte des caméras", "/cameras/carte/"),
                ("Équipements", "/cameras/equipements/"),
                ("Autorisations préfectorales", "/cameras/autorisations/"),
                ("Échéances des autorisations", "/cameras/autorisations/alertes/"),
                ("Arrêts faute d'autorisation", "/cameras/arrets-autorisation/"),
            ],
        ),
        ("Réquisitions", [("Registres des extractions", "/requisitions/registres/")]),
        (
            "Conformité",
            [
                ("Journal d'audit", "/audit/"),
                ("Registre des destructions", "/conservation/destructions/"),
                ("Gels des images", "/conservation/gels/"),
                ("Conformité", "/conformite/"),
                ("Registre des traitements", "/conformite/registre-des-traitements/"),
                ("Analyse d'impact", "/conformite/analyse-impact/"),
                ("Demandes d'accès", "/conformite/demandes-acces/"),
                ("Violations de données", "/conformite/violations/"),
            ],
        ),
        (
            "Administration",
            [
                ("Utilisateurs", "/comptes/utilisateurs/"),
                ("Habilitations", "/comptes/habilitations/"),
                ("Communes et conventions", "/comptes/communes/"),
                ("Formations", "/comptes/formations/"),
            ],
        ),
        API,
    ],
    Role.ADMIN: [
        HOME,
        ("Salle", [("Statistiques", "/exploitation/statistiques/")]),
        (
            "Caméras",
            [
                ("Caméras", "/cameras/"),
                ("Carte des caméras", "/cameras/carte/"),
                ("Équipements", "/cameras/equipements/"),
                ("Santé des caméras", "/cameras/sante/"),
                ("Autorisations préfectorales", "/cameras/autorisations/"),
                ("Échéances des autorisations", "/cameras/autorisations/alertes/"),
                ("Arrêts faute d'autorisation", "/cameras/arrets-autorisation/"),
                ("Enregistreurs", "/enregistrements/exploitation/"),
            ],
        ),
        (
            "Administration",
            [
                ("Utilisateurs", "/comptes/utilisateurs/"),
                ("Habilitations", "/comptes/habilitations/"),
                ("Communes et conventions", "/comptes/communes/"),
                ("Formations", "/comptes/formations/"),
            ],
        ),
        API,
    ],
    Role.POLICE_STATION: [HOME, ("Vidéo", [("Mur d'images", "/direct/")]), API],
}

#: The keyboard shortcuts each role sees beside its menu (key, label, address); the search
#: key "/" apart.
SHORTCUTS = {
    Role.OPERATOR: [("n", "Nouveau signalement", "/exploitation/signalements/nouveau/")],
    Role.SUPERVISOR: [("n", "Nouveau signalement", "/exploitation/signalements/nouveau/")],
}
SEARCH = {
    Role.OPERATOR: "/exploitation/signalements/",
    Role.SUPERVISOR: "/exploitation/signalements/",
}


def test_every_role_is_pinned():
    assert set(MENU) == set(Role.values)


@pytest.mark.parametrize("role", Role.values)
def test_each_role_sees_its_menu_in_order(role, signed_in):
    context = signed_in(make_person(role)).get("/accueil/").context
    sections = [
        (group["label"], [(entry["label"], entry["url"]) for entry in group["items"]])
        for group in context["nav_sections"]
    ]
    assert sections == MENU[role]
    flat = [entry for _label, entries in MENU[role] for entry in entries]
    assert [(entry["label"], entry["url"]) for entry in context["nav_items"]] == flat


@pytest.mark.parametrize("role", Role.values)
def test_the_page_shows_only_the_sections_of_the_role(role, signed_in):
    page = signed_in(make_person(role)).get("/accueil/").content.decode()
    shown = {label for label, _entries in MENU[role] if label}
    for section in navigation.SECTIONS:
        heading = f'<p class="menu-section" id="menu-{section.key}">{section.label}</p>'
        assert (heading in page) == (str(section.label) in shown), (role, section.key)
    # On a phone the menu folds behind a button that a static script opens.
    assert 'class="menu-toggle" aria-controls="main-nav"' in page
    assert "/static/js/menu.js" in page


@pytest.mark.parametrize("role", Role.values)
def test_each_role_sees_its_shortcuts_with_their_keys(role, signed_in):
    response = signed_in(make_person(role)).get("/accueil/")
    shortcuts = [(s["key"], s["label"], s["url"]) for s in response.context["shortcuts"]]
    assert shortcuts == SHORTCUTS.get(role, [])
    search = response.context["search_shortcut"]
    assert (search["url"] if search else None) == SEARCH.get(role)
    page = response.content.decode()
    for key, label, url in shortcuts:
        assert f'href="{url}" data-shortcut="{key}">{label} <kbd>{key}</kbd>' in page
    if search:
        assert f'href="{search["url"]}" data-shortcut="/">' in page
    assert '<dialog id="shortcuts-help"' in page and "<kbd>?</kbd>" in page


def test_a_shortcut_never_takes_a_key_a_page_keeps():
    for key in ("a", "j", "k", "?", "N", "nn"):
        with pytest.raises(ValueError, match="one lower-case key"):
            navigation.register_shortcut(key, "x", "home", {Role.OPERATOR})
    with pytest.raises(ValueError, match="twice"):
        navigation.register_shortcut("n", "Autre", "home", {Role.OPERATOR})


def test_an_entry_falls_in_the_section_of_its_position():
    assert navigation.section_of(10) == ""
    assert navigation.section_of(25) == "administration"
    assert navigation.section_of(65) == "video"
    assert navigation.section_of(75) == "cameras"
    assert navigation.section_of(115) == "room"
    assert navigation.section_of(175) == "requisitions"
    assert navigation.section_of(500) == "compliance"
    assert navigation.section_of(1000) == ""


def test_the_menu_is_translated(signed_in):
    client = signed_in(make_person(Role.SUPERVISOR))
    client.post("/i18n/setlang/", {"language": "en", "next": "/accueil/"})
    labels = [entry["label"] for entry in client.get("/accueil/").context["nav_items"]]
    assert labels[:5] == ["Home", "Dashboard", "Alarms", "Incident reports", "Shifts"], labels
    page = client.get("/accueil/").content.decode()
    assert '<p class="menu-section" id="menu-room">Room</p>' in page


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


#: Pages outside the menu by nature, open to whoever is signed in.
EXEMPT = {
    "accounts:password_change": "the person's own password: a link beside their name",
    "accounts:logout": "the sign-out confirmation: a button beside their name",
    "public:notice": "the public information notice, open without signing in",
    "healthz": "the container's health check, not a page",
}

#: Pages a role reaches from one of its menu's pages (a button, a link, a form): the role
#: opening one must see that menu entry, and the page must lead to it.
REACHED_FROM = {
    "accounts:user_create": "accounts:user_list",
    "accounts:habilitation_create": "accounts:habilitation_list",
    "accounts:commune_create": "accounts:commune_list",
    "accounts:agreement_create": "accounts:commune_list",
    "audit:event_export_csv": "audit:event_list",
    "audit:event_export_pdf": "audit:event_list",
    "cameras:camera_create": "cameras:camera_list",
    "cameras:device_create": "cameras:device_list",
    "cameras:authorization_create": "cameras:authorization_list",
    "cameras:retention_changes": "cameras:camera_list",
    "cameras:camera_map_states": "cameras:camera_map",
    "live:rooms": "live:wall",
    "operations:signalement_create": "operations:signalement_list",
    "operations:rota": "operations:shift_list",
    "operations:alarm_history": "operations:alarm_list",
    "operations:rota_generate": "operations:shift_list",
    "retention:hold_create": "retention:hold_list",
    "evidence:requisition_create": "evidence:requisition_list",
    "compliance:request_create": "compliance:request_list",
    "compliance:breach_create": "compliance:breach_list",
    "compliance:impact_assessment_create": "compliance:impact_assessments",
    "compliance:audit_pack": "compliance:index",
}


def _pages() -> dict[str, str]:
    """Every page that takes no argument: URL name → address (the API's endpoints aside, its
    documentation page included)."""
    pages = {}
    for name in sorted(matrix_coverage.names()):
        try:
            url = reverse(name)
        except NoReverseMatch:  # needs an argument: a detail page, reached from a list
            continue
        if not url.startswith("/api/") or name == "api-docs":
            pages[name] = url
    return pages


def _with_every_image_right(person) -> None:
    rights = ROLE_RIGHTS[person.role]
    if rights:
        HabilitationFactory(
            user=person,
            all_cameras=True,
            can_live=Right.LIVE in rights,
            can_replay=Right.REPLAY in rights,
            can_extract=Right.EXTRACT in rights,
        )


def test_exempt_and_reached_pages_exist():
    pages = _pages()
    named = set(EXEMPT) | set(REACHED_FROM) | set(REACHED_FROM.values())
    assert named <= set(pages), sorted(named - set(pages))
    menu = {item.url_name for item in navigation.all_items()}
    assert set(REACHED_FROM.values()) <= menu
    assert not (set(EXEMPT) | set(REACHED_FROM)) & menu


@pytest.mark.parametrize("role", Role.values)
def test_the_menu_and_the_pages_a_role_opens_agree(role, signed_in):
    """Both ways: every entry registered for the role opens for it (habilitation given where
    images need one), and every page it opens is in its menu, reached from it, or exempt."""
    person = make_person(role)
    _with_every_image_right(person)
    client = signed_in(person)
    menu = {item.url_name for item in navigation.all_items() if role in item.roles}
    pages = _pages()
    problems = [
        f"{name}: in the menu, answers {status}"
        for name in sorted(menu)
        if (status := client.get(pages[name]).status_code) != 200
    ]
    for name, url in pages.items():
        if name in menu or name in EXEMPT or client.get(url).status_code != 200:
            continue
        parent = REACHED_FROM.get(name)
        if parent is None:
            problems.append(f"{name}: opens, yet is neither in the menu nor listed here")
        elif parent not in menu:
            problems.append(f"{name}: opens, reached from {parent}, which is not in the menu")
        elif url not in client.get(pages[parent]).content.decode():
            problems.append(f"{name}: opens, yet {parent} does not lead to it")
    assert problems == [], f"{role}:\n  " + "\n  ".join(problems)


def test_an_entry_registered_again_must_mean_the_same(monkeypatch):
    monkeypatch.setattr(navigation, "_REGISTRY", dict(navigation._REGISTRY))
    same = next(item for item in navigation.all_items() if item.url_name == "live:wall")
    assert navigation.register(same.order, same.label, same.url_name, same.roles) == same
    with pytest.raises(ValueError, match="twice"):
        navigation.register(same.order, same.label, same.url_name, {Role.DPO})
    with pytest.raises(ValueError, match="share the position"):
        navigation.register(same.order, "Autre", "accounts:password_change", {Role.DPO})
    with pytest.raises(ValueError, match="no role"):
        navigation.register(5, "Personne", "accounts:password_change", set())
