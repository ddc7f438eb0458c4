"""Four eyes on privacy masks: whoever drew a version never validates it, whatever the door.

Attacks, each as the author would try: the API, the camera page's button, the editor's own form
with a validation field slipped in; then the two people who may: another chef de salle
habilitated on the camera, and the DPO (who checks the polygons without the picture).
"""

from __future__ import annotations

import json

import pytest

from accounts.roles import Role
from audit.models import AuditEvent
from cameras.models import PrivacyMask
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db

POLYGONS = [{"mode": "software", "label": "", "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5]]}]


def chef(username: str):
    person = UserFactory(username=username, role=Role.SUPERVISOR)
    HabilitationFactory(user=person, sectors=["Gare"], can_live=True)
    return person


@pytest.fixture
def drawn(signed_in):
    """Version 1 of CAM-GARE's masks, drawn in the editor by chef.auteur; his client."""
    CameraFactory(code="CAM-GARE", sector="Gare")
    author = chef("chef.auteur")
    client = signed_in(author)
    response = client.post(
        "/cameras/CAM-GARE/masques/", {"polygons": json.dumps(POLYGONS), "note": "Fenêtres"}
    )
    assert response.status_code == 302, response.content
    mask = PrivacyMask.objects.get(camera__code="CAM-GARE", version=1)
    assert mask.author == author  # who drew it is on the version itself
    return client, mask


def not_validated(mask: PrivacyMask) -> None:
    mask.refresh_from_db()
    assert mask.validated_at is None and mask.validated_by is None
    assert not AuditEvent.objects.filter(action="privacy_mask.validated").exists()


def attempt_on_record(mask: PrivacyMask) -> None:
    [event] = AuditEvent.objects.filter(action="privacy_mask.validation_refused")
    assert event.actor_id == mask.author_id
    assert event.details == {"version": mask.version, "author_id": mask.author_id}


def test_author_cannot_validate_through_the_api(drawn):
    client, mask = drawn
    response = client.post("/api/cameras/CAM-GARE/masks/1/validate/")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Vous ne pouvez pas valider des masques que vous avez vous-même enregistrés : un autre "
        "chef de salle ou le délégué à la protection des données doit les valider."
    )
    not_validated(mask)
    attempt_on_record(mask)


def test_author_cannot_validate_through_the_camera_page(drawn):
    client, mask = drawn
    page = client.get("/cameras/CAM-GARE/").content.decode()
    assert "/cameras/CAM-GARE/masques/1/valider/" not in page  # no button offered
    response = client.post("/cameras/CAM-GARE/masques/1/valider/", follow=True)
    assert "vous-même enregistrés" in response.content.decode()
    not_validated(mask)
    attempt_on_record(mask)


def test_author_cannot_validate_by_slipping_fields_into_the_editor_form(drawn):
    client, mask = drawn
    response = client.post(
        "/cameras/CAM-GARE/masques/",
        {
            "polygons": json.dumps(POLYGONS),
            "note": "",
            "validated_by": str(mask.author.pk),
            "validated_at": "2026-01-01T00:00:00Z",
            "validate": "1",
        },
    )
    assert response.status_code == 302
    second = PrivacyMask.objects.get(camera__code="CAM-GARE", version=2)
    assert second.author == mask.author
    not_validated(second)
    # Nor through the API's save, fields and all.
    saved = client.post(
        "/api/cameras/CAM-GARE/masks/",
        {"polygons": POLYGONS, "validated_by": mask.author.pk, "validated_at": "2026-01-01"},
        content_type="application/json",
    )
    assert saved.status_code == 201, saved.content
    assert saved.json()["validated_at"] is None
    not_validated(PrivacyMask.objects.get(camera__code="CAM-GARE", version=3))


def test_another_chef_validates_through_the_page(drawn, signed_in):
    _client, mask = drawn
    other = signed_in(chef("chef.valideur"))
    assert (
        "/cameras/CAM-GARE/masques/1/valider/" in other.get("/cameras/CAM-GARE/").content.decode()
    )
    response = other.post("/cameras/CAM-GARE/masques/1/valider/", follow=True)
    assert "Version 1 des masques validée." in response.content.decode()
    mask.refresh_from_db()
    assert mask.validated_by.username == "chef.valideur"
    event = AuditEvent.objects.get(action="privacy_mask.validated")
    assert event.details["author_id"] == mask.author_id
    assert event.actor_role == Role.SUPERVISOR


def test_the_dpo_validates_without_seeing_the_picture(drawn, signed_in):
    _client, mask = drawn
    dpo = signed_in(UserFactory(username="dpo", role=Role.DPO))  # no habilitation at all
    page = dpo.get("/cameras/CAM-GARE/").content.decode()
    assert 'class="mask-outline"' in page and 'points="0.1,0.1 0.4,0.1 0.4,0.5"' in page
    assert "instantane.jpg" not in page
    response = dpo.post("/api/cameras/CAM-GARE/masks/1/validate/")
    assert response.status_code == 200, response.content
    mask.refresh_from_db()
    assert mask.validated_by.username == "dpo"
    event = AuditEvent.objects.get(action="privacy_mask.validated")
    assert event.actor_role == Role.DPO and event.details["author_id"] == mask.author_id


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN, Role.MAGISTRATE])
def test_other_roles_cannot_validate(drawn, signed_in, role):
    _client, mask = drawn
    person = UserFactory(role=role)
    HabilitationFactory(user=person, all_cameras=True, can_live=True)
    client = signed_in(person)
    assert client.post("/api/cameras/CAM-GARE/masks/1/validate/").status_code == 403
    assert client.post("/cameras/CAM-GARE/masques/1/valider/").status_code == 403
    not_validated(mask)
