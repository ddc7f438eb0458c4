"""The Debian packages the tests need: one installer for bin/test and .ci/run, and tests that
name the missing package instead of failing with a traceback (failing in CI, where they are
installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest, prerequisites

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "bin" / "system-packages"


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    monkeypatch.setattr(prerequisites, "CHROMIUM", str(tmp_path / "chromium"))


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv(prerequisites.REQUIRE_VARIABLE, raising=False)


@pytest.fixture
def rtsp_probe_cache():
    prerequisites._rtsp_missing_packages.cache_clear()
    yield
    prerequisites._rtsp_missing_packages.cache_clear()


def test_a_browser_test_without_chromium_is_skipped_naming_the_package(
    request, no_chromium, lenient
):
    request.node.add_marker(pytest.mark.browser)
    with pytest.raises(pytest.skip.Exception) as skipped:
        conftest.pytest_runtest_setup(request.node)
    assert "sudo apt-get install --no-install-recommends chromium " in str(skipped.value)


def test_a_test_without_the_browser_marker_does_not_need_chromium(request, no_chromium, lenient):
    conftest.pytest_runtest_setup(request.node)


def test_in_ci_a_missing_chromium_fails_the_test(request, no_chromium, monkeypatch):
    monkeypatch.setenv(prerequisites.REQUIRE_VARIABLE, "true")
    request.node.add_marker(pytest.mark.browser)
    with pytest.raises(pytest.fail.Exception) as failed:
        conftest.pytest_runtest_setup(request.node)
    assert "chromium" in str(failed.value)
    assert prerequisites.REQUIRE_VARIABLE in str(failed.value)


def test_without_gstreamer_bindings_the_rtsp_tests_are_skipped_naming_them(
    monkeypatch, lenient, rtsp_probe_cache
):
    # The virtualenv's interpreter has no GStreamer bindings: as on a machine without them.
    monkeypatch.setattr(prerequisites, "SYSTEM_PYTHON", sys.executable)
    with pytest.raises(pytest.skip.Exception) as skipped:
        prerequisites.require_rtsp_server()
    for package in ("python3-gi", "python3-gst-1.0", "gir1.2-gst-rtsp-server-1.0"):
        assert package in str(skipped.value)


def test_a_missing_gstreamer_plugin_is_named_by_its_package(monkeypatch, lenient, rtsp_probe_cache):
    prerequisites.require_rtsp_server()  # the bindings themselves are there
    prerequisites._rtsp_missing_packages.cache_clear()
    elements = {**prerequisites.RTSP_ELEMENTS, "csunosuchelement": "gstreamer1.0-plugins-bad"}
    monkeypatch.setattr(prerequisites, "RTSP_ELEMENTS", elements)
    with pytest.raises(pytest.skip.Exception) as skipped:
        prerequisites.require_rtsp_server()
    assert str(skipped.value).count("gstreamer1.0-") == 1
    assert "--no-install-recommends gstreamer1.0-plugins-bad " in str(skipped.value)


# --- bin/system-packages ------------------------------------------------------------------------


def fake_commands(tmp_path: Path, *, installed: set[str], uid: int) -> dict[str, str]:
    """dpkg-query that knows only ``installed``, ``id -u`` saying ``uid``, and an apt-get that
    records its arguments: the installer's decisions, without touching the machine."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    scripts = {
        "dpkg-query": (
            'package="${@: -1}"\n'
            f'case " {" ".join(sorted(installed))} " in\n'
            '  *" $package "*) printf installed ;;\n'
            "  *) exit 1 ;;\n"
            "esac\n"
        ),
        "id": f"echo {uid}\n",
        "apt-get": f'echo "$*" >> {tmp_path / "apt-get.log"}\n',
        "sudo": "exit 1\n",  # sudo would ask for a password
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/bash\n{body}")
        path.chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if k != "CSU_INSTALL_PACKAGES"}
    environment["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    return environment


def installer(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(INSTALLER), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def packages(*arguments: str) -> list[str]:
    listing = installer(dict(os.environ), "--list", *arguments)
    assert listing.returncode == 0, listing.stderr
    return listing.stdout.split()


def test_the_installer_lists_what_the_browser_and_rtsp_tests_need():
    assert {"chromium", "gir1.2-gst-rtsp-server-1.0", "python3-gi", "gettext"} <= set(packages())
    assert set(prerequisites.RTSP_BINDINGS) <= set(packages())
    assert {"postgresql-client", "redis-tools"} <= set(packages("--ci")) - set(packages())


def test_a_user_who_may_not_install_is_told_the_exact_command_and_the_tests_still_run(tmp_path):
    environment = fake_commands(tmp_path, installed=set(packages()) - {"chromium"}, uid=1000)
    result = installer(environment)
    assert result.returncode == 0
    assert "sudo apt-get install --no-install-recommends chromium\n" in result.stderr
    assert not (tmp_path / "apt-get.log").exists()


def test_root_gets_the_missing_packages_installed(tmp_path):
    missing = ["chromium", "gstreamer1.0-libav"]
    environment = fake_commands(tmp_path, installed=set(packages()) - set(missing), uid=0)
    result = installer(environment)
    calls = (tmp_path / "apt-get.log").read_text().splitlines()
    assert calls == ["update -qq", f"install -y -qq --no-install-recommends {' '.join(missing)}"]
    # The fake apt-get installed nothing: said so, with the command to run by hand.
    assert f"--no-install-recommends {' '.join(missing)}\n" in result.stderr
    assert result.returncode == 0


def test_nothing_is_run_when_everything_is_installed(tmp_path):
    environment = fake_commands(tmp_path, installed=set(packages("--ci")), uid=0)
    result = installer(environment, "--ci")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not (tmp_path / "apt-get.log").exists()


def test_ci_fails_when_a_package_is_still_missing(tmp_path):
    environment = fake_commands(tmp_path, installed=set(packages()), uid=1000)
    result = installer(environment, "--ci")
    assert result.returncode == 1
    assert "--no-install-recommends postgresql-client redis-tools\n" in result.stderr


def test_bin_test_and_ci_share_the_installer_and_ci_turns_skips_into_failures():
    bin_test = (ROOT / "bin" / "test").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nbin/system-packages\n" in bin_test
    assert "\nbin/system-packages --ci\n" in ci
    assert f"\nexport {prerequisites.REQUIRE_VARIABLE}=true\n" in ci
    assert "apt-get" not in ci
