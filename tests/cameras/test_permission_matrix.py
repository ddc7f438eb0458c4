"""Every page and endpoint of the camera register, for every kind of visitor."""

from __future__ import annotations

import itertools

import pytest

from accounts.roles import Role
from cameras.models import PrivacyMask
from tests.cameras.factories import AuthorizationFactory, CameraFactory
from tests.factories import HabilitationFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

READERS = [Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO]
MANAGERS = [Role.SUPERVISOR, Role.ADMIN]
HEALTH = [Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN]
LIVE = [Role.OPERATOR, Role.SUPERVISOR]


def habilitate_live(person) -> None:
    HabilitationFactory(user=person, all_cameras=True, can_live=True)


@pytest.fixture
def camera(clips):
    return CameraFactory(code="CAM-M01", stream_url=clips["motion"].as_uri())


@pytest.fixture
def mask(camera):
    return PrivacyMask.objects.create(
        camera=camera,
        version=1,
        polygons=[{"mode": "software", "points": [[0, 0], [0.2, 0], [0.2, 0.2]]}],
        author=UserFactory(role=Role.SUPERVISOR),
    )


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/cameras/", READERS),
        ("/cameras/nouvelle/", MANAGERS),
        ("/cameras/sante/", HEALTH),
        ("/cameras/autorisations/", READERS),
        ("/cameras/autorisations/nouvelle/", MANAGERS),
        ("/cameras/CAM-M01/", READERS),
        ("/cameras/CAM-M01/modifier/", MANAGERS),
        ("/cameras/CAM-M01/historique/", READERS),
    ],
)
def test_pages(camera, path, allowed):
    check_matrix(url=path, allowed=allowed)


def test_authorization_pages(camera):
    pk = camera.authorization.pk
    check_matrix(url=f"/cameras/autorisations/{pk}/", allowed=READERS)
    check_matrix(url=f"/cameras/autorisations/{pk}/modifier/", allowed=MANAGERS)


def test_snapshot_page_needs_live_habilitation(camera):
    check_matrix(url="/cameras/CAM-M01/instantane.jpg", allowed=LIVE, habilitate=habilitate_live)


def test_mask_editor_is_for_habilitated_supervisors(camera):
    check_matrix(
        url="/cameras/CAM-M01/masques/", allowed=[Role.SUPERVISOR], habilitate=habilitate_live
    )


def test_reset_reference_is_for_managers(camera):
    check_matrix(url="/cameras/CAM-M01/reference/", method="post", allowed=MANAGERS, ok=[302])


def test_mask_validation_page_is_for_habilitated_supervisors(mask):
    check_matrix(
        url="/cameras/CAM-M01/masques/1/valider/",
        method="post",
        allowed=[Role.SUPERVISOR],
        # The DPO may validate too (below); here the chef de salle already has: a message.
        refused={Role.DPO: 302},
        ok=[302],
        habilitate=habilitate_live,
    )


def test_authorization_create_page_is_for_managers():
    counter = itertools.count()
    check_matrix(
        url="/cameras/autorisations/nouvelle/",
        method="post",
        allowed=MANAGERS,
        ok=[302],
        data=lambda: {
            "number": f"73-2025-{next(counter)}",
            "issued_on": "2025-01-10",
            "purposes": ["atteintes_personnes_biens"],
            "qualities": ["operateur_csu"],
            "perimeter": "Gare.",
            "retention_days": 15,
        },
    )


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/cameras/", READERS),
        ("/api/cameras/CAM-M01/", READERS),
        ("/api/cameras/CAM-M01/history/", READERS),
        ("/api/cameras/CAM-M01/outages/", READERS),
        ("/api/cameras/CAM-M01/masks/", READERS),
        ("/api/cameras/health/", HEALTH),
        ("/api/authorizations/", READERS),
        ("/api/authorizations/alerts/", READERS),
    ],
)
def test_api_reads(camera, path, allowed):
    check_matrix(url=path, allowed=allowed, api=True)


def test_api_authorization_detail(camera):
    check_matrix(url=f"/api/authorizations/{camera.authorization.pk}/", allowed=READERS, api=True)


def test_api_snapshot_needs_live_habilitation(camera):
    check_matrix(
        url="/api/cameras/CAM-M01/snapshot/", allowed=LIVE, api=True, habilitate=habilitate_live
    )


def test_api_camera_create_is_for_managers(clips):
    authorization = AuthorizationFactory()
    counter = itertools.count()
    check_matrix(
        url="/api/cameras/",
        method="post",
        api=True,
        allowed=MANAGERS,
        ok=[201],
        data=lambda: {
            "code": f"CAM-N{next(counter):02d}",
            "name": "Nouvelle caméra",
            "sector": "Gare",
            "kind": "fixed",
            "stream_url": clips["motion"].as_uri(),
            "authorization": authorization.pk,
        },
    )


def test_api_camera_update_is_for_managers(camera):
    check_matrix(
        url="/api/cameras/CAM-M01/",
        method="patch",
        api=True,
        allowed=MANAGERS,
        data={"name": "Place renommée"},
    )


def test_api_mask_save_is_for_habilitated_supervisors(camera):
    check_matrix(
        url="/api/cameras/CAM-M01/masks/",
        method="post",
        api=True,
        allowed=[Role.SUPERVISOR],
        ok=[201],
        habilitate=habilitate_live,
        data={"polygons": [{"mode": "software", "points": [[0, 0], [1, 0], [1, 0.1]]}]},
    )


def test_api_mask_validate_is_for_habilitated_supervisors(mask):
    check_matrix(
        url="/api/cameras/CAM-M01/masks/1/validate/",
        method="post",
        api=True,
        allowed=[Role.SUPERVISOR],
        # The DPO may validate too (below); here the chef de salle already has: 400.
        refused={Role.DPO: 400},
        habilitate=habilitate_live,
    )


def test_without_a_habilitation_only_the_dpo_validates_masks(mask):
    # The DPO checks the polygons without the picture: no live habilitation needed. A chef de
    # salle without one is refused (the matrix signs him in without habilitation).
    check_matrix(
        url="/cameras/CAM-M01/masques/1/valider/", method="post", allowed=[Role.DPO], ok=[302]
    )
    mask.refresh_from_db()
    assert mask.validated_by is not None and mask.validated_by.role == Role.DPO
    PrivacyMask.objects.filter(pk=mask.pk).update(validated_at=None, validated_by=None)
    check_matrix(
        url="/api/cameras/CAM-M01/masks/1/validate/", method="post", api=True, allowed=[Role.DPO]
    )


def test_api_reset_reference_is_for_managers(camera):
    check_matrix(
        url="/api/cameras/CAM-M01/reset-reference/", method="post", api=True, allowed=MANAGERS
    )


def test_api_authorization_create_and_update_are_for_managers():
    counter = itertools.count()
    check_matrix(
        url="/api/authorizations/",
        method="post",
        api=True,
        allowed=MANAGERS,
        ok=[201],
        data=lambda: {
            "number": f"73-2025-API-{next(counter)}",
            "issued_on": "2025-03-01",
            "purposes": ["flux_transport", "infractions_circulation"],
            "qualities": ["operateur_csu", "police_municipale"],
            "perimeter": "Bissy.",
            "retention_days": 10,
        },
    )
    authorization = AuthorizationFactory()
    check_matrix(
        url=f"/api/authorizations/{authorization.pk}/",
        method="patch",
        api=True,
        allowed=MANAGERS,
        data={"perimeter": "Bissy et Chamoux."},
    )


def test_camera_list_query_count_does_not_grow(signed_in, dpo, django_assert_max_num_queries):
    client = signed_in(dpo)
    CameraFactory.create_batch(2)
    with django_assert_max_num_queries(12) as few:
        client.get("/api/cameras/")
    CameraFactory.create_batch(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/cameras/")
    assert response.json()["count"] == 10
