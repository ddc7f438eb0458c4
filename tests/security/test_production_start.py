"""A production start refuses unsafe state, set up as a careless (or hostile) operator would.

The refusals are checked on real processes: ``manage.py``, gunicorn with the image's command,
the Celery worker and beat with the Procfile's commands, and ``runserver``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import DEMO_DEVICE_NAME, demo_access_remove, demo_password, load_demo_people
from csu.lib.env import local_secret
from csu.startup import demo_leftovers
from tests.factories import UserFactory
from tests.test_deploy import ROOT, compose, manage, procfile, production_environment

#: The Redis database of these tests (a refused worker stops before it connects anyway).
BROKER = "redis://127.0.0.1:6379/7"


def production(tmp_path: Path) -> dict[str, str]:
    return {**production_environment(tmp_path), "CELERY_BROKER_URL": BROKER}


def laptop(tmp_path: Path, data: Path) -> dict[str, str]:
    """The embedded default on the same database: what ``bin/run`` would use."""
    environment = production(tmp_path)
    for name in [name for name in environment if name.startswith(("CSU_", "AWS_"))]:
        del environment[name]
    del environment["SECRET_KEY"]
    environment.update(CSU_DATA_DIR=str(data), CSU_STATIC_ROOT=str(tmp_path / "static"))
    return environment


def run_with_umask(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``manage.py`` under umask 000: nothing but the code decides the modes of what it creates."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the data folder ------------------------------------------------------------------------------


@pytest.mark.parametrize("loose", [0o755, 0o750, 0o711, 0o705])
def test_a_data_folder_others_can_enter_stops_the_production_start(tmp_path, loose):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(loose)
    result = manage(production(tmp_path), "check")
    assert result.returncode != 0
    assert "CSU_DATA_DIR" in result.stderr
    assert f"mode {loose:04o}" in result.stderr
    assert f"chmod 700 '{data}'" in result.stderr


def test_the_data_folder_and_the_generated_secrets_are_private_from_birth(tmp_path):
    data = tmp_path / "data"
    result = run_with_umask(laptop(tmp_path, data), "check")
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    assert mode(data / "secrets") == 0o700
    written = sorted((data / "secrets").iterdir())
    assert [path.name for path in written] == [
        "csu_audit_signing_key",
        "csu_evidence_signing_key",
        "csu_master_key",
        "csu_stream_credentials_key",
        "secret_key",
    ]  # no temporary file left beside them
    assert {path.name: mode(path) for path in written} == {path.name: 0o600 for path in written}
    # A production start with the same folder, made private, is clean once the keys moved out.
    shutil.rmtree(data / "secrets")
    result = manage(production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_the_demo_password_is_written_private(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    previous = os.umask(0)
    try:
        password = demo_password()
    finally:
        os.umask(previous)
    path = tmp_path / "data" / "secrets" / "demo_password"
    assert path.read_text() == password
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["demo_password"]
    assert demo_password() == password  # generated once


# --- keys left under the data folder by a run outside production ---------------------------------


@pytest.fixture
def leftovers(tmp_path) -> Path:
    """The data folder of a laptop run (bin/run), reused for production as it was."""
    data = tmp_path / "data"
    result = manage(laptop(tmp_path, data), "check")
    assert result.returncode == 0, result.stderr
    assert (data / "secrets" / "csu_master_key").exists()
    return data


def test_a_leftover_secrets_folder_stops_the_production_start(tmp_path, leftovers):
    result = manage(production(tmp_path), "check")
    assert result.returncode != 0
    assert f"'{leftovers / 'secrets'}' holds secrets generated outside production" in result.stderr
    assert "csu_master_key" in result.stderr
    assert "then delete" in result.stderr


def test_a_leftover_key_named_through_a_file_variable_is_refused(tmp_path, leftovers):
    environment = production(tmp_path)
    del environment["CSU_MASTER_KEY"]
    environment["CSU_MASTER_KEY_FILE"] = str(leftovers / "secrets" / "csu_master_key")
    result = manage(environment, "check")
    assert result.returncode != 0
    assert "), named by CSU_MASTER_KEY_FILE: the production start is refused" in result.stderr


def test_production_never_takes_a_leftover_key_for_a_missing_one(tmp_path, monkeypatch):
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "csu_master_key").write_text("a key from the demo")
    monkeypatch.delenv("CSU_MASTER_KEY", raising=False)
    monkeypatch.delenv("CSU_MASTER_KEY_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="must be set in production"):
        local_secret("CSU_MASTER_KEY", tmp_path, generate=False)
    monkeypatch.setenv("CSU_MASTER_KEY_FILE", str(folder / "csu_master_key"))
    with pytest.raises(ImproperlyConfigured, match="CSU_MASTER_KEY_FILE points into"):
        local_secret("CSU_MASTER_KEY", tmp_path, generate=False)
    # Outside production the folder is where keys live.
    assert local_secret("CSU_MASTER_KEY", tmp_path, generate=True) == "a key from the demo"


# --- the demo's accounts and TOTP devices ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory) -> Path:
    """A production database migrated from empty, into which the demo was then loaded."""
    tmp_path = tmp_path_factory.mktemp("demo-db")
    result = manage(production(tmp_path), "migrate", "--no-input")
    assert result.returncode == 0, result.stdout + result.stderr  # empty database: no refusal
    result = manage(laptop(tmp_path, tmp_path / "laptop"), "load_demo")
    assert result.returncode == 0, result.stderr
    return tmp_path / "csu.sqlite3"


@pytest.fixture
def demo_left(tmp_path, demo_database) -> dict[str, str]:
    """The production environment of a database that still holds the demo."""
    environment = production(tmp_path)
    # The chain's anchors in the data folder: no object store runs beside these tests.
    environment["CSU_AUDIT_ANCHOR_STORAGE"] = "filesystem"
    shutil.copy(demo_database, tmp_path / "csu.sqlite3")
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _web(port: int) -> list[str]:
    return [sys.executable, "-m", *shlex.split(compose()["services"]["web"]["command"])]


SERVING: dict[str, Callable[[int], list[str]]] = {
    "gunicorn": _web,
    "worker": lambda port: [sys.executable, "-m", *shlex.split(procfile()["worker"])],
    "beat": lambda port: [sys.executable, "-m", *shlex.split(procfile()["beat"])],
    "runserver": lambda port: [
        sys.executable,
        "manage.py",
        "runserver",
        f"127.0.0.1:{port}",
        "--noreload",
    ],
}


@pytest.mark.parametrize("process", list(SERVING))
def test_demo_accounts_in_the_database_stop_every_serving_process(tmp_path, demo_left, process):
    port = _free_port()
    environment = {**demo_left, "PORT": str(port), "CSU_WEB_WORKERS": "1"}
    # Beat's schedule folder, as the image creates it (compose mounts a volume there).
    (tmp_path / "data" / "celery").mkdir(mode=0o700, parents=True)
    (tmp_path / "data").chmod(0o700)
    log = tmp_path / f"{process}.log"
    with log.open("wb") as out:
        started = subprocess.Popen(
            SERVING[process](port), cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            code = started.wait(timeout=90)
        except subprocess.TimeoutExpired:
            started.kill()
            started.wait()
            pytest.fail(f"{process} started on a database holding the demo:\n{log.read_text()}")
    text = log.read_text()
    assert code != 0, text
    assert "demo accounts are active (admin, chef, dpo, magistrat, operateur, opj" in text, text
    assert "demo TOTP devices remain" in text
    assert "manage.py remove_demo_access" in text


def test_check_deploy_reports_the_demo_and_removing_it_clears_the_start(demo_left):
    result = manage(demo_left, "check", "--deploy")
    assert result.returncode != 0
    assert "csu.E001" in result.stderr
    # The fix the message gives works in production, and is audited.
    removed = manage(demo_left, "remove_demo_access")
    assert removed.returncode == 0, removed.stderr
    assert "compte de démonstration désactivé : chef" in removed.stdout
    result = manage(demo_left, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    audit = manage(demo_left, "verify_audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.mark.django_db
def test_a_demo_totp_device_on_a_real_account_is_a_leftover(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    chief = UserFactory(username="m.dupont", role="supervisor")
    TOTPDevice.objects.create(user=chief, name="TOTP", confirmed=True)
    assert demo_leftovers() == []
    TOTPDevice.objects.create(user=chief, name=DEMO_DEVICE_NAME, confirmed=True)
    [problem] = demo_leftovers()
    assert "demo TOTP devices remain (m.dupont)" in problem


@pytest.mark.django_db
def test_remove_demo_access_deactivates_the_demo_and_keeps_real_accounts(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    people = load_demo_people()
    real = UserFactory(username="m.dupont", role="supervisor")
    assert len(demo_leftovers()) == 2
    deactivated, reset = demo_access_remove(actor="test")
    assert sorted(deactivated) == sorted(user.username for user in people)
    assert set(reset) <= set(deactivated)
    assert demo_leftovers() == []
    real.refresh_from_db()
    assert real.is_active
    for user in people:
        user.refresh_from_db()
        assert not user.is_active and not user.has_usable_password()
