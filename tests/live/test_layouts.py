"""Saved walls: a person's own layouts, the rooms' shared presets, by service, API and page."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.roles import Role
from audit.models import AuditEvent
from live import layouts
from live.models import WallLayout, WallRoom
from live.roles import WALL_VIEWERS
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

WALL = [Role.OPERATOR, Role.SUPERVISOR, Role.POLICE_STATION]


@pytest.fixture
def cameras():
    return [CameraFactory(code=f"CAM-{n:03d}", name=f"Rue {n}") for n in (1, 2, 3)]


@pytest.fixture
def room():
    return WallRoom.objects.create(name="Salle du CSU")


def four(*tiles):
    return list(tiles) + [None] * (4 - len(tiles))


# --- Service: the rules -------------------------------------------------------------------------


def test_a_layout_stores_cameras_tours_and_empty_tiles_in_order(cameras, operator):
    layout = layouts.layout_create(
        actor=operator,
        name="  Nuit   centre ",
        size=4,
        tiles=[
            "CAM-002",
            None,
            {"tour": ["CAM-001", "CAM-003"], "seconds": 15},
            {"camera": "CAM-001"},
        ],
    )
    layout.refresh_from_db()
    assert layout.owner == operator and layout.room is None
    assert layout.name == "Nuit centre"
    assert layout.tiles == [
        {"camera": "CAM-002", "tour": [], "seconds": None},
        {"camera": None, "tour": [], "seconds": None},
        {"camera": None, "tour": ["CAM-001", "CAM-003"], "seconds": 15},
        {"camera": "CAM-001", "tour": [], "seconds": None},
    ]
    # A person's own layout is theirs alone: no audit event.
    assert not AuditEvent.objects.filter(action__startswith="live.").exists()


@pytest.mark.parametrize(
    ("size", "tiles", "field", "message"),
    [
        (4, four("CAM-404"), "tiles", "Caméra inconnue : CAM-404."),
        (4, four({"tour": ["CAM-001", "CAM-999"], "seconds": 5}), "tiles", "CAM-999"),
        (6, [None] * 6, "size", "Nombre de vignettes invalide : 1, 4, 9 ou 16."),
        (True, [None], "size", "Nombre de vignettes invalide"),
        (4, [None] * 9, "tiles", "9 vignettes décrites pour une disposition de 4."),
        (4, "CAM-001", "tiles", "Les vignettes sont une liste."),
        (4, four(42), "tiles", "vignette 1 : attendu une caméra, une tournée ou rien."),
        (4, four({"camera": "CAM-001", "zoom": 2}), "tiles", "vignette 1 : attendu"),
        (4, four({"tour": ["CAM-001"], "seconds": 1}), "tiles", "entre 3 et 600 secondes"),
        (4, four({"tour": ["CAM-001"]}), "tiles", "entre 3 et 600 secondes"),
        (4, four({"camera": "CAM-001", "seconds": 5}), "tiles", "un intervalle sans tournée"),
        (
            4,
            four({"camera": "CAM-002", "tour": ["CAM-001"], "seconds": 5}),
            "tiles",
            "une caméra ou une tournée, pas les deux",
        ),
        (4, four({"tour": "CAM-001", "seconds": 5}), "tiles", "liste de codes de caméras"),
    ],
)
def test_bad_layouts_are_refused_with_a_clear_message_and_nothing_written(
    cameras, operator, size, tiles, field, message
):
    with pytest.raises(ValidationError) as raised:
        layouts.layout_create(actor=operator, name="Essai", size=size, tiles=tiles)
    assert any(message in m for m in raised.value.message_dict[field]), raised.value.message_dict
    assert not WallLayout.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Donnez un nom."), ("   ", "Donnez un nom."), ("x" * 81, "80 caractères au plus")],
)
def test_a_layout_needs_a_name_of_at_most_80_characters(cameras, operator, name, message):
    with pytest.raises(ValidationError) as raised:
        layouts.layout_create(actor=operator, name=name, size=1, tiles=["CAM-001"])
    assert message in raised.value.message_dict["name"][0]
    assert not WallLayout.objects.exists()
    assert layouts.layout_create(actor=operator, name="x" * 80, size=1, tiles=["CAM-001"])


def test_one_name_per_person_and_per_room_but_the_same_name_elsewhere(
    cameras, operator, supervisor, room
):
    layouts.layout_create(actor=operator, name="Gare", size=1, tiles=[None])
    with pytest.raises(ValidationError, match="déjà une disposition de ce nom"):
        layouts.layout_create(actor=operator, name="Gare", size=1, tiles=[None])
    layouts.layout_create(actor=supervisor, name="Gare", size=1, tiles=[None])
    layouts.layout_create(actor=supervisor, name="Gare", size=1, tiles=[None], room=room)
    with pytest.raises(ValidationError, match="déjà un préréglage de ce nom"):
        layouts.layout_create(actor=supervisor, name="Gare", size=1, tiles=[None], room=room)
    assert WallLayout.objects.count() == 3


def test_nobody_changes_or_deletes_another_persons_layout(cameras, operator, supervisor):
    layout = layouts.layout_create(actor=operator, name="Mien", size=1, tiles=["CAM-001"])
    for other in (supervisor, UserFactory(role=Role.OPERATOR)):
        with pytest.raises(PermissionDenied):
            layouts.layout_update(layout=layout, actor=other, name="Pris")
        with pytest.raises(PermissionDenied):
            layouts.layout_delete(layout=layout, actor=other)
    layout.refresh_from_db()
    assert layout.name == "Mien"


def test_a_replaced_wall_needs_its_tiles_and_a_failed_change_writes_nothing(cameras, operator):
    layout = layouts.layout_create(actor=operator, name="Mien", size=1, tiles=["CAM-001"])
    with pytest.raises(ValidationError, match="Donnez les vignettes"):
        layouts.layout_update(layout=layout, actor=operator, size=4)
    with pytest.raises(ValidationError, match="Caméra inconnue"):
        layouts.layout_update(layout=layout, actor=operator, name="Autre", tiles=["CAM-404"])
    layout.refresh_from_db()
    assert (layout.name, layout.size, layout.tiles[0]["camera"]) == ("Mien", 1, "CAM-001")
    layouts.layout_update(layout=layout, actor=operator, size=4, tiles=four("CAM-002"))
    layout.refresh_from_db()
    assert layout.size == 4 and layout.tiles[0]["camera"] == "CAM-002"


def test_only_supervisors_change_presets_and_each_change_is_audited(
    cameras, operator, supervisor, room
):
    with pytest.raises(PermissionDenied):
        layouts.layout_create(actor=operator, name="Nuit", size=1, tiles=[None], room=room)
    preset = layouts.layout_create(
        actor=supervisor, name="Nuit", size=4, tiles=four("CAM-001"), room=room
    )
    assert preset.owner is None and preset.room == room
    with pytest.raises(PermissionDenied):
        layouts.layout_update(layout=preset, actor=operator, name="Jour")
    with pytest.raises(PermissionDenied):
        layouts.layout_delete(layout=preset, actor=operator)
    layouts.layout_update(layout=preset, actor=supervisor, name="Nuit calme")
    layouts.layout_delete(layout=preset, actor=supervisor)
    created, changed, deleted = AuditEvent.objects.filter(
        action__startswith="live.preset"
    ).order_by("pk")
    assert created.action == "live.preset_created" and created.actor_id == supervisor.pk
    assert created.target_label == "Salle du CSU — Nuit"
    assert created.details["tiles"][0]["camera"] == "CAM-001"
    assert changed.action == "live.preset_changed"
    assert changed.details["changes"] == {"name": {"from": "Nuit", "to": "Nuit calme"}}
    assert deleted.action == "live.preset_deleted" and deleted.details["name"] == "Nuit calme"


def test_rooms_are_supervisors_business_and_audited(supervisor, operator):
    with pytest.raises(PermissionDenied):
        layouts.room_create(actor=operator, name="Poste PN")
    room = layouts.room_create(actor=supervisor, name="Poste PN")
    layouts.layout_create(actor=supervisor, name="Gare", size=1, tiles=[None], room=room)
    with pytest.raises(ValidationError, match="Une salle porte déjà ce nom"):
        layouts.room_create(actor=supervisor, name="Poste  PN")
    layouts.room_rename(room=room, actor=supervisor, name="Poste de la Police nationale")
    layouts.room_delete(room=room, actor=supervisor)
    assert not WallLayout.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="live.room")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["live.room_created", "live.room_renamed", "live.room_deleted"]
    assert AuditEvent.objects.get(action="live.room_deleted").details["presets"] == ["Gare"]


# --- API ---------------------------------------------------------------------------------------


def test_api_creates_lists_renames_replaces_and_deletes_own_layouts(cameras, signed_in, operator):
    client = signed_in(operator)
    body = {"name": "Nuit", "size": 4, "tiles": four("CAM-001", None, "CAM-003")}
    created = client.post("/api/live/layouts/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["tiles"][2]["camera"] == "CAM-003"
    listed = client.get("/api/live/layouts/").json()
    assert [x["name"] for x in listed["results"]] == ["Nuit"]
    renamed = client.patch(
        f"/api/live/layouts/{pk}/", {"name": "Nuit 2"}, content_type="application/json"
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Nuit 2"
    replaced = client.put(
        f"/api/live/layouts/{pk}/",
        {"name": "Nuit 2", "size": 1, "tiles": ["CAM-002"]},
        content_type="application/json",
    )
    assert replaced.json()["size"] == 1 and replaced.json()["tiles"][0]["camera"] == "CAM-002"
    assert client.delete(f"/api/live/layouts/{pk}/").status_code == 204
    assert not WallLayout.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "A", "size": 4, "tiles": four("CAM-404")}, "tiles", "Caméra inconnue"),
        ({"name": "A", "size": 3, "tiles": [None] * 3}, "size", "1, 4, 9 ou 16"),
        ({"name": "A", "size": 4, "tiles": [None]}, "tiles", "1 vignettes décrites"),
        ({"name": "", "size": 1, "tiles": [None]}, "name", "Donnez un nom."),
        ({"name": "n" * 200, "size": 1, "tiles": [None]}, "name", "80 caractères au plus"),
        ({"name": "A", "size": "quatre", "tiles": [None]}, "size", ""),
        ({"name": "A", "size": 1}, "tiles", ""),
    ],
)
def test_api_answers_bad_input_with_a_precise_400(
    cameras, signed_in, operator, body, field, message
):
    response = signed_in(operator).post("/api/live/layouts/", body, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()[field]
    assert any(message in e for e in errors), errors
    assert not WallLayout.objects.exists()


def test_api_hides_other_peoples_layouts(cameras, signed_in, operator, supervisor):
    theirs = layouts.layout_create(actor=supervisor, name="Chef", size=1, tiles=["CAM-001"])
    client = signed_in(operator)
    assert client.get("/api/live/layouts/").json()["results"] == []
    url = f"/api/live/layouts/{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "x"}, content_type="application/json").status_code == 404
    assert client.delete(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Chef"


def test_api_presets_are_read_by_the_wall_and_changed_by_supervisors(
    cameras, signed_in, operator, supervisor, room
):
    other_room = WallRoom.objects.create(name="Poste PN")
    body = {"name": "Gare", "size": 1, "tiles": ["CAM-001"], "room": room.pk}
    refused = signed_in(operator).post("/api/live/presets/", body, content_type="application/json")
    assert refused.status_code == 403
    chief = signed_in(supervisor)
    created = chief.post("/api/live/presets/", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["room"] == room.pk
    chief.post(
        "/api/live/presets/", {**body, "room": other_room.pk}, content_type="application/json"
    )
    pk = created.json()["id"]
    reader = signed_in(operator)
    assert [
        p["room"] for p in reader.get(f"/api/live/presets/?room={room.pk}").json()["results"]
    ] == [room.pk]
    assert len(reader.get("/api/live/presets/").json()["results"]) == 2
    assert reader.get("/api/live/presets/?room=x").status_code == 400
    assert reader.get("/api/live/presets/?room=999999").status_code == 404
    assert (
        reader.patch(
            f"/api/live/presets/{pk}/", {"name": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert reader.delete(f"/api/live/presets/{pk}/").status_code == 403
    # A preset stays in its room and its own layouts list does not show it.
    moved = chief.patch(
        f"/api/live/presets/{pk}/",
        {"name": "Gare nuit", "room": other_room.pk},
        content_type="application/json",
    )
    assert moved.json()["room"] == room.pk and moved.json()["name"] == "Gare nuit"
    assert chief.get("/api/live/layouts/").json()["results"] == []
    assert chief.delete(f"/api/live/presets/{pk}/").status_code == 204
    assert AuditEvent.objects.filter(action__startswith="live.preset").count() == 4


def test_api_matrix(cameras, room, supervisor):
    mine = {"name": "Essai", "size": 1, "tiles": ["CAM-001"]}
    check_matrix(url="/api/live/layouts/", allowed=WALL, api=True)
    check_matrix(
        url="/api/live/layouts/",
        method="post",
        data=lambda: {**mine, "name": f"Essai {WallLayout.objects.count()}"},
        allowed=WALL,
        api=True,
        ok=(201,),
    )
    check_matrix(url="/api/live/rooms/", allowed=WALL, api=True)
    check_matrix(url=f"/api/live/rooms/{room.pk}/", allowed=WALL, api=True)
    check_matrix(url="/api/live/presets/", allowed=WALL, api=True)
    check_matrix(
        url="/api/live/presets/",
        method="post",
        data=lambda: {**mine, "room": room.pk, "name": f"P{WallLayout.objects.count()}"},
        allowed=[Role.SUPERVISOR],
        api=True,
        ok=(201,),
    )
    preset = layouts.layout_create(actor=supervisor, name="Fixe", size=1, tiles=[None], room=room)
    check_matrix(url=f"/api/live/presets/{preset.pk}/", allowed=WALL, api=True)
    check_matrix(
        url=f"/api/live/presets/{preset.pk}/",
        method="patch",
        data={"name": "Fixe"},
        allowed=[Role.SUPERVISOR],
        api=True,
    )


def test_api_matrix_on_ones_own_layout(cameras):
    # Someone else's layout: a 404 for the people at the wall, a 403 for the other roles.
    def url() -> str:
        owner = UserFactory(role=Role.OPERATOR)
        layout = layouts.layout_create(actor=owner, name="Autre", size=1, tiles=[None])
        return f"/api/live/layouts/{layout.pk}/"

    check_matrix(
        url=url,
        allowed=[],
        api=True,
        refused={role: 404 for role in WALL_VIEWERS},
    )


# --- Pages ---------------------------------------------------------------------------------------


def test_wall_page_offers_ones_own_layouts_and_every_rooms_presets(
    cameras, signed_in, operator, supervisor, room
):
    HabilitationFactory(user=operator, all_cameras=True, can_live=True)
    layouts.layout_create(actor=operator, name="À moi", size=1, tiles=["CAM-001"])
    layouts.layout_create(actor=supervisor, name="Au chef", size=1, tiles=["CAM-002"])
    layouts.layout_create(actor=supervisor, name="De salle", size=1, tiles=[None], room=room)
    page = signed_in(operator).get("/direct/").content.decode()
    start = page.index('id="wall-saved-data"')
    data = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert [x["name"] for x in data["mine"]] == ["À moi"]
    assert [x["name"] for x in data["presets"]] == ["De salle"]
    assert data["rooms"] == [{"id": room.pk, "name": "Salle du CSU"}]
    assert data["can_edit_presets"] is False
    assert "Au chef" not in page
    assert 'id="wall-save-preset"' not in page
    assert 'id="wall-save-preset"' in signed_in(supervisor).get("/direct/").content.decode()


def test_rooms_page_creates_renames_and_deletes_rooms(signed_in, supervisor):
    client = signed_in(supervisor)
    response = client.post("/direct/salles/", {"name": "Poste PN"}, follow=True)
    assert "Salle « Poste PN » créée." in response.content.decode()
    room = WallRoom.objects.get()
    response = client.post("/direct/salles/", {"name": "x" * 81}, follow=True)
    assert "80 caractères au plus" in response.content.decode()
    response = client.post(f"/direct/salles/{room.pk}/renommer/", {"name": ""}, follow=True)
    assert "Donnez un nom." in response.content.decode()
    client.post(f"/direct/salles/{room.pk}/renommer/", {"name": "Poste de police"})
    room.refresh_from_db()
    assert room.name == "Poste de police"
    assert "Poste de police" in client.get("/direct/salles/").content.decode()
    client.post(f"/direct/salles/{room.pk}/supprimer/")
    assert not WallRoom.objects.exists()


def test_rooms_pages_matrix(room):
    check_matrix(url="/direct/salles/", allowed=[Role.SUPERVISOR])
    check_matrix(
        url="/direct/salles/",
        method="post",
        data=lambda: {"name": f"Salle {WallRoom.objects.count()}"},
        allowed=[Role.SUPERVISOR],
        ok=(302,),
    )
    check_matrix(
        url=f"/direct/salles/{room.pk}/renommer/",
        method="post",
        data={"name": "Salle du CSU"},
        allowed=[Role.SUPERVISOR],
        ok=(302,),
    )
    check_matrix(
        url=lambda: (
            f"/direct/salles/{WallRoom.objects.create(name=str(WallRoom.objects.count())).pk}"
            "/supprimer/"
        ),
        method="post",
        allowed=[Role.SUPERVISOR],
        ok=(302,),
    )
