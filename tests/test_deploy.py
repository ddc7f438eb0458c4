"""Production deployment: settings, headers, the container files and the operator's guide.

No Docker engine runs here, so docker/compose.yaml and docker/Dockerfile are checked as text:
the same image everywhere, health checks, secrets as files, and the same commands as the
Procfile, bin/run and bin/_venv.sh (what CI runs).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.test import RequestFactory
from django.urls import reverse

from csu.security import TrustedProxyMiddleware

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
SETTINGS_SOURCES = [
    ROOT / "csu" / "settings.py",
    ROOT / "csu" / "lib" / "storage.py",
    ROOT / "csu" / "gunicorn.py",
]
APP_SERVICES = ("migrate", "web", "worker", "recorder", "beat")
DOMAIN = "csu.example.org"


# --- helpers ----------------------------------------------------------------------------------


def settings_secrets() -> list[str]:
    """Names of the secrets the settings read with local_secret (refused when missing)."""
    text = (ROOT / "csu" / "settings.py").read_text()
    return re.findall(r'local_secret\(\s*"([A-Z0-9_]+)"', text)


def environment_variables() -> set[str]:
    """Every variable the settings, the storage options and gunicorn's settings read."""
    names: set[str] = set()
    for source in SETTINGS_SOURCES:
        text = source.read_text()
        names |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*[\'"]([A-Z0-9_]+)[\'"]', text))
        names |= set(re.findall(r'local_secret\(\s*"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'"(AWS_[A-Z0-9_]+)"', text))  # the S3 options
    return names


def production_environment(tmp_path: Path) -> dict[str, str]:
    """What compose.yaml gives the application: production, every secret, S3 storage."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CSU_", "AWS_", "DATABASE_URL", "CELERY_", "SECRET_KEY"))
        and name not in {"DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}
    }
    for name in settings_secrets():
        environment[name] = base64.b64encode(secrets.token_bytes(32)).decode()
    environment["SECRET_KEY"] = secrets.token_urlsafe(50)
    environment.update(
        CSU_PRODUCTION="true",
        CSU_DATA_DIR=str(tmp_path / "data"),
        CSU_STATIC_ROOT=str(tmp_path / "static"),
        ALLOWED_HOSTS=DOMAIN,
        CSRF_TRUSTED_ORIGINS=f"https://{DOMAIN}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'csu.sqlite3'}",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CSU_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="csu",
        AWS_S3_ENDPOINT_URL="http://objectstore:9000",
        AWS_S3_ACCESS_KEY_ID="csu",
        AWS_S3_SECRET_ACCESS_KEY=secrets.token_hex(32),
        CSU_TRUSTED_PROXIES="172.30.240.0/24",
    )
    return environment


def manage(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), " ".join(rest.split())))
    return instructions


# --- production settings ----------------------------------------------------------------------


def test_deploy_check_is_clean_with_the_production_environment(tmp_path):
    result = manage(
        production_environment(tmp_path), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["CSU_MASTER_KEY", "SECRET_KEY", "AWS_STORAGE_BUCKET_NAME"])
def test_production_refuses_to_start_without_a_value_and_names_it(tmp_path, missing):
    environment = production_environment(tmp_path)
    del environment[missing]
    result = manage(environment, "check")
    assert result.returncode != 0
    assert missing in result.stderr
    assert not (tmp_path / "data" / "secrets").exists()  # nothing invented in production


def test_unknown_storage_is_refused(tmp_path):
    environment = {**production_environment(tmp_path), "CSU_STORAGE": "ftp"}
    result = manage(environment, "check")
    assert result.returncode != 0
    assert "CSU_STORAGE must be filesystem or s3" in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """gunicorn with the image's command and settings, static files collected as at build."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    environment = production_environment(tmp_path)
    collected = manage(environment, "collectstatic", "--no-input", "--verbosity", "0")
    assert collected.returncode == 0, collected.stderr
    port = _free_port()
    environment.update(PORT=str(port), CSU_WEB_WORKERS="1", CSU_WEB_THREADS="2")
    log = tmp_path / "gunicorn.log"
    command = shlex.split(compose()["services"]["web"]["command"])
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail("gunicorn exited:\n" + log.read_text())
            time.sleep(0.2)
    yield port, Path(environment["CSU_STATIC_ROOT"])
    server.terminate()
    server.wait(timeout=15)


def _get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": DOMAIN, **headers})
    response = connection.getresponse()
    response.read()
    return response


def test_gunicorn_answers_the_health_check_over_plain_http(gunicorn_server):
    port, _ = gunicorn_server
    response = _get(port, "/healthz")
    assert response.status == 200, response.getheader("Location")


def test_gunicorn_sends_plain_http_to_https(gunicorn_server):
    port, _ = gunicorn_server
    response = _get(port, "/comptes/login/")
    assert response.status == 301
    assert response.getheader("Location", "").startswith(f"https://{DOMAIN}/")


def test_https_responses_carry_the_security_headers(gunicorn_server):
    port, _ = gunicorn_server
    response = _get(port, "/healthz", **{"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )
    policy = response.getheader("Content-Security-Policy")
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Referrer-Policy") == "same-origin"
    assert response.getheader("Cross-Origin-Opener-Policy") == "same-origin"
    assert "camera=()" in response.getheader("Permissions-Policy")


def test_static_files_are_served_hashed_compressed_and_cached_for_ever(gunicorn_server):
    port, static_root = gunicorn_server
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["js/language.js"]
    assert hashed != "js/language.js"
    response = _get(
        port, f"/static/{hashed}", **{"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"}
    )
    assert response.status == 200
    assert "immutable" in response.getheader("Cache-Control")
    assert response.getheader("Content-Encoding") == "gzip"


# --- pages: a content security policy without inline code ---------------------------------------


def test_pages_carry_the_content_security_policy(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    page = response.content.decode()
    assert "onchange" not in page
    assert "js/language.js" in page


_INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_hold_no_inline_script_or_style():
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in _INLINE:
            # A JSON data block is not code: json_script writes <script type="application/json">.
            for match in pattern.finditer(text):
                if "application/json" not in match.group(0):
                    found.append(f"{template.relative_to(ROOT)}: {what}")
    assert found == []


def test_trusted_proxy_names_the_client_for_the_audit(settings):
    settings.TRUSTED_PROXIES = ["172.30.240.0/24"]
    seen = {}

    def view(request):
        seen["ip"] = request.META["REMOTE_ADDR"]
        return None

    middleware = TrustedProxyMiddleware(view)
    factory = RequestFactory()
    middleware(
        factory.get("/", REMOTE_ADDR="172.30.240.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.1.2.3")
    )
    assert seen["ip"] == "10.1.2.3"  # the right-most address the proxy saw; the left is forgeable
    middleware(factory.get("/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="10.1.2.3"))
    assert seen["ip"] == "10.9.9.9"  # not from the proxy: the header is ignored
    middleware(factory.get("/", REMOTE_ADDR="172.30.240.5", HTTP_X_FORWARDED_FOR="not-an-ip"))
    assert seen["ip"] == "172.30.240.5"


# --- docker/compose.yaml --------------------------------------------------------------------------


def test_every_application_service_runs_the_same_image():
    services = compose()["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    builds = {json.dumps(services[name]["build"], sort_keys=True) for name in APP_SERVICES}
    assert len(images) == 1
    assert builds == {json.dumps({"context": "..", "dockerfile": "docker/Dockerfile"})}
    assert (DOCKER / "Dockerfile").exists()


def test_compose_commands_are_the_procfiles():
    services = compose()["services"]
    processes = procfile()
    for name in ("worker", "recorder", "beat"):
        assert services[name]["command"] == processes[name], name
    from django.conf import settings

    wsgi_module = settings.WSGI_APPLICATION.removesuffix(".application")
    assert services["web"]["command"].split()[:2] == ["gunicorn", wsgi_module]
    run = (ROOT / "bin" / "run").read_text()
    assert services["migrate"]["command"] in run


def test_long_running_services_have_health_checks_and_one_shots_gate_the_others():
    services = compose()["services"]
    for name, service in services.items():
        if service.get("restart") == "unless-stopped":
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in ("web", "worker", "recorder", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_secrets_are_files_read_through_file_variables():
    document = compose()
    declared = document["secrets"]
    for name, secret in declared.items():
        assert set(secret) == {"file"}, name
        assert secret["file"] == f"./secrets/{name}"
    make_secrets = (DOCKER / "make-secrets.sh").read_text()
    assert set(re.findall(r"^write (\w+) ", make_secrets, re.M)) == set(declared)
    for service_name, service in document["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            assert not re.search(r"(PASSWORD|SECRET|KEY)$", variable), (
                f"{service_name}: {variable} given in clear, use {variable}_FILE"
            )
            if variable.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in declared, f"{service_name}: {variable}"
                assert secret in service["secrets"], f"{service_name} does not mount {secret}"
    environment = document["services"]["web"]["environment"]
    for name in [*settings_secrets(), "DATABASE_URL"]:
        assert f"{name}_FILE" in environment, name


def test_volumes_are_named_for_what_they_hold_and_recorders_can_scale():
    document = compose()
    declared = set(document["volumes"])
    used = set()
    for name, service in document["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert mount.endswith(":ro"), f"{name}: configuration mounted writable"
                assert (DOCKER / source).exists()
            else:
                used.add(source)
    assert used == declared
    assert {"postgres-data", "segments-objects", "redis-queue"} <= declared
    recorder = document["services"]["recorder"]
    for fixed in ("container_name", "hostname", "ports"):
        assert fixed not in recorder


def test_the_proxy_terminates_tls_in_front_of_gunicorn():
    document = compose()
    proxy = document["services"]["proxy"]
    caddyfile = (DOCKER / "Caddyfile").read_text()
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "reverse_proxy web:8000" in caddyfile
    assert re.search(r"^\s*tls ", caddyfile, re.M)
    assert "frontend" in document["services"]["web"]["networks"]
    assert "backend" not in proxy["networks"]  # the proxy reaches the web service only
    subnet = document["networks"]["frontend"]["ipam"]["config"][0]["subnet"]
    trusted = document["services"]["web"]["environment"]["CSU_TRUSTED_PROXIES"]
    assert trusted == subnet


# --- docker/Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_and_runs_as_an_unprivileged_user():
    instructions = dockerfile_instructions()
    stages = [args for word, args in instructions if word == "FROM"]
    assert len(stages) >= 2
    final = instructions[max(i for i, (word, _) in enumerate(instructions) if word == "FROM") :]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    args = dict(arg.split("=", 1) for word, arg in instructions if word == "ARG" and "=" in arg)
    version = re.search(r"python:(\d+)\.(\d+)", args["PYTHON_IMAGE"])
    assert (3, 11) <= (int(version[1]), int(version[2])) < (3, 13)  # pyproject's requires-python


def test_dockerfile_installs_and_collects_static_files_as_ci_does():
    runs = " && ".join(args for word, args in dockerfile_instructions() if word == "RUN")
    venv = (ROOT / "bin" / "_venv.sh").read_text()
    # bin/_venv.sh: the project installed in place from pyproject.toml (dev extras aside).
    install = re.search(r"-m pip install --quiet -e \"\.\[dev\]\"", venv)
    assert install, "bin/_venv.sh no longer installs the project as the Dockerfile expects"
    assert "python -m pip install --quiet --no-deps -e ." in runs
    assert "tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']" in runs
    collect = re.search(
        r"^python manage\.py collectstatic [^\n]*", (ROOT / "bin" / "run").read_text(), re.M
    )
    assert collect[0] in runs


def test_image_default_command_is_the_web_service():
    instructions = dockerfile_instructions()
    command = json.loads(next(args for word, args in instructions if word == "CMD"))
    assert " ".join(command) == compose()["services"]["web"]["command"]


def test_build_context_leaves_out_local_data_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", "docker/secrets", ".git"} <= set(ignored)


# --- the operator's guide -----------------------------------------------------------------------


def test_every_environment_variable_is_documented():
    guide = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in environment_variables() if f"`{name}`" not in guide)
    assert missing == []


def test_the_guide_covers_what_the_issue_asks():
    guide = (ROOT / "docs" / "operations.md").read_text()
    for heading in (
        "## Install",
        "## Back up and restore",
        "## Rotate the master key",
        "## Add a recorder machine",
        "## Capacity planning",
        "## Monitoring",
    ):
        assert heading in guide
    assert "rotate_master_key" in guide
    assert "tests/recordings/test_takeover.py" in guide


def test_rotation_override_gives_every_application_service_the_previous_key():
    document = yaml.safe_load((DOCKER / "compose.rotation.yaml").read_text())
    base = compose()["services"]
    assert set(document["services"]) == set(APP_SERVICES)
    for name, service in document["services"].items():
        assert service["environment"] == {
            "CSU_PREVIOUS_MASTER_KEY_FILE": "/run/secrets/previous_master_key"
        }
        # Listed in full: the override does not depend on how compose merges lists.
        assert set(service["secrets"]) == {*base[name]["secrets"], "previous_master_key"}
    assert document["secrets"] == {"previous_master_key": {"file": "./secrets/previous_master_key"}}
