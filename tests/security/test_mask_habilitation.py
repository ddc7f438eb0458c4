"""Attack: a chef de salle without the live habilitation for a camera changes its privacy
masks anyway, through the API or a page other than the editor (which alone checked it).

Masks are drawn over the live image: whoever saves or validates them must be habilitated to
watch that camera live, whatever the door used.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from cameras import services
from cameras.models import PrivacyMask
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db

POLYGONS = [{"mode": "software", "points": [[0, 0], [0.5, 0], [0.5, 0.5]]}]


@pytest.fixture
def camera():
    return CameraFactory(code="CAM-GARE", sector="Gare")


@pytest.fixture
def mask(camera):
    return PrivacyMask.objects.create(
        camera=camera, version=1, polygons=POLYGONS, author=UserFactory(role=Role.SUPERVISOR)
    )


def _chef_habilitated_elsewhere():
    """A chef de salle whose live habilitation covers another sector only."""
    chef = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(user=chef, sectors=["Centre-ville"], can_live=True)
    return chef


def _chef_with_expired_habilitation():
    chef = UserFactory(role=Role.SUPERVISOR)
    today = timezone.localdate()
    HabilitationFactory(
        user=chef,
        all_cameras=True,
        can_live=True,
        valid_from=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )
    return chef


WITHOUT_LIVE = [_chef_habilitated_elsewhere, _chef_with_expired_habilitation]


@pytest.mark.parametrize("make_chef", WITHOUT_LIVE)
def test_chef_without_live_habilitation_cannot_save_masks_through_the_api(
    signed_in, camera, make_chef
):
    response = signed_in(make_chef()).post(
        "/api/cameras/CAM-GARE/masks/",
        {"polygons": [], "note": "plus de masque"},
        content_type="application/json",
    )
    assert response.status_code == 403, response.content
    assert "habilitée" in response.json()["detail"]
    assert not PrivacyMask.objects.filter(camera=camera).exists()
    assert not AuditEvent.objects.filter(action="privacy_mask.saved").exists()


@pytest.mark.parametrize("make_chef", WITHOUT_LIVE)
def test_chef_without_live_habilitation_cannot_validate_masks_page_or_api(
    signed_in, mask, make_chef
):
    client = signed_in(make_chef())
    assert client.post("/cameras/CAM-GARE/masques/1/valider/").status_code == 403
    assert client.post("/api/cameras/CAM-GARE/masks/1/validate/").status_code == 403
    mask.refresh_from_db()
    assert mask.validated_at is None and mask.validated_by is None
    assert not AuditEvent.objects.filter(action="privacy_mask.validated").exists()


def test_services_themselves_refuse_without_live_habilitation(camera, mask):
    chef = _chef_habilitated_elsewhere()
    with pytest.raises(PermissionDenied):
        services.mask_save(camera=camera, polygons=[], actor=chef)
    with pytest.raises(PermissionDenied):
        services.mask_validate(mask=mask, actor=chef)
    assert PrivacyMask.objects.filter(camera=camera).count() == 1


def test_habilitated_chefs_still_save_and_validate(signed_in, camera):
    author, validator = UserFactory(role=Role.SUPERVISOR), UserFactory(role=Role.SUPERVISOR)
    for chef in (author, validator):
        HabilitationFactory(user=chef, sectors=["Gare"], can_live=True)
    saved = signed_in(author).post(
        "/api/cameras/CAM-GARE/masks/", {"polygons": POLYGONS}, content_type="application/json"
    )
    assert saved.status_code == 201, saved.content
    validated = signed_in(validator).post("/api/cameras/CAM-GARE/masks/1/validate/")
    assert validated.status_code == 200, validated.content
