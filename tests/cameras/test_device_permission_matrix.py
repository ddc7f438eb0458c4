"""Every page and endpoint of the devices, for every kind of visitor."""

from __future__ import annotations

import itertools

import pytest

from accounts.roles import Role
from cameras.models import Device
from tests.cameras.factories import AuthorizationFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

READERS = [Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.DPO]
MANAGERS = [Role.SUPERVISOR, Role.ADMIN]


@pytest.fixture
def device():
    return Device.objects.create(
        code="EQ-M1",
        name="Tête multicapteur",
        host="10.20.3.14",
        authorization=AuthorizationFactory(),
    )


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/cameras/equipements/", READERS),
        ("/cameras/equipements/nouveau/", MANAGERS),
        ("/cameras/equipements/EQ-M1/", READERS),
        ("/cameras/equipements/EQ-M1/modifier/", MANAGERS),
    ],
)
def test_pages(device, path, allowed):
    check_matrix(url=path, allowed=allowed)


def test_device_create_page_is_for_managers():
    counter = itertools.count()
    check_matrix(
        url="/cameras/equipements/nouveau/",
        method="post",
        allowed=MANAGERS,
        ok=[302],
        data=lambda: {"code": f"EQ-N{next(counter)}", "name": "Tête", "host": "10.20.3.20"},
    )


def test_device_edit_page_is_for_managers(device):
    check_matrix(
        url="/cameras/equipements/EQ-M1/modifier/",
        method="post",
        allowed=MANAGERS,
        ok=[302],
        data={
            "code": "EQ-M1",
            "name": "Tête renommée",
            "host": "10.20.3.14",
            "authorization": device.authorization.pk,
        },
    )


@pytest.mark.parametrize("path", ["/api/devices/", "/api/devices/EQ-M1/"])
def test_api_reads(device, path):
    check_matrix(url=path, allowed=READERS, api=True)


def test_api_device_create_and_update_are_for_managers(device):
    counter = itertools.count()
    check_matrix(
        url="/api/devices/",
        method="post",
        api=True,
        allowed=MANAGERS,
        ok=[201],
        data=lambda: {"code": f"EQ-A{next(counter)}", "name": "Tête", "host": "10.20.3.21"},
    )
    check_matrix(
        url="/api/devices/EQ-M1/",
        method="patch",
        api=True,
        allowed=MANAGERS,
        data={"name": "Tête renommée"},
    )
