"""Shared fixtures: the named personas, signed-in clients, and a database that can be emptied."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.roles import Role
from tests import prerequisites
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On a full run, fail if some page or endpoint never went through the permission matrix."""
    import os

    from tests import matrix_coverage

    if hasattr(session.config, "workerinput") or not os.environ.get(matrix_coverage.LOG_VARIABLE):
        return
    if exitstatus != 0:
        return
    missing = matrix_coverage.untested_views()
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(
            "Views without a permission-matrix test (tests/permissions.py):", red=True
        )
        for name in missing:
            reporter.write_line(f"  {name}", red=True)
        session.exitstatus = 1


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests need Debian's Chromium: without it they are skipped naming the package."""
    if item.get_closest_marker("browser"):
        prerequisites.require_chromium()


@pytest.fixture(scope="session", autouse=True)
def _flush_despite_append_only_audit():
    """Tests that commit (live server, threads) empty the database afterwards: allow it there."""
    from django.core.management.commands import flush

    from tests.append_only import suspended

    original = flush.Command.handle

    def handle(self, *args, **kwargs):
        with suspended():
            return original(self, *args, **kwargs)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def _own_audit_anchors(settings, tmp_path_factory):
    """Each test reads and writes the audit anchors (outside the database) of its own folder."""
    import uuid

    settings.AUDIT_ANCHOR_STORAGE = "filesystem"
    settings.AUDIT_ANCHOR_DIR = tmp_path_factory.getbasetemp() / "audit-anchors" / uuid.uuid4().hex


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in French: a request in English leaves its language active in the
    thread (LocaleMiddleware activates it and nothing deactivates it), which would otherwise
    leak into the next test's labels."""
    from django.utils import translation

    translation.activate("fr")
    yield
    translation.activate("fr")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Pages render without running collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def sign_in(client: Client, user: User) -> Client:
    """Sign in as ``user`` with the second factor given, as after a real TOTP check."""
    client.force_login(user)
    if user.requires_second_factor:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="test", defaults={"confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def signed_in() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        return sign_in(Client(), user)

    return make


@pytest.fixture
def police_service():
    return ServiceFactory(code="commissariat-chambery", name="Commissariat de Chambéry")


@pytest.fixture
def gendarmerie_service():
    return ServiceFactory(
        code="brigade-la-motte", name="Brigade de La Motte-Servolex", kind="gendarmerie"
    )


@pytest.fixture
def operator(db) -> User:
    user = UserFactory(username="operateur", role=Role.OPERATOR)
    HabilitationFactory(user=user, all_cameras=True, can_live=True)
    return user


@pytest.fixture
def unhabilitated_operator(db) -> User:
    return UserFactory(username="operateur.sans.habilitation", role=Role.OPERATOR)


@pytest.fixture
def supervisor(db) -> User:
    user = UserFactory(username="chef", role=Role.SUPERVISOR)
    HabilitationFactory(
        user=user, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    return user


@pytest.fixture
def opj(db, police_service) -> User:
    return UserFactory(username="opj", role=Role.OPJ, service=police_service)


@pytest.fixture
def opj_other_service(db, gendarmerie_service) -> User:
    return UserFactory(username="opj.gendarmerie", role=Role.OPJ, service=gendarmerie_service)


@pytest.fixture
def magistrate(db) -> User:
    return UserFactory(username="magistrat", role=Role.MAGISTRATE)


@pytest.fixture
def dpo(db) -> User:
    return UserFactory(username="dpo", role=Role.DPO)


@pytest.fixture
def admin_user(db) -> User:
    return UserFactory(username="admin", role=Role.ADMIN)
