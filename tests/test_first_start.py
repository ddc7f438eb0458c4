"""The README's first command: ``bin/run`` on a fresh data folder starts every process, serves
``/healthz``, and stops cleanly on Ctrl-C, leaving nothing running.

Run on the embedded default (SQLite, kombu's filesystem transport) and, when DATABASE_URL and
CELERY_BROKER_URL name PostgreSQL and Redis (as CI sets them), on those: with a database of its
own, created and dropped here, so that it never meets the test database. The Redis database is
the one given; the test runs in the group of the other real-worker tests (never beside them)
and purges the queues it used, so that no task of its processes is left for theirs.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import dj_database_url
import kombu
import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# Every process of the Procfile, as honcho names them.
PROCESSES = ("web.1", "worker.1", "recorder.1", "beat.1", "live.1")
STARTUP_SECONDS = 300  # migrations on a fresh database, static files, demo clips, then the four
STOP_SECONDS = 60

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.xdist_group("celery-worker")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(data_dir: Path, port: int) -> dict[str, str]:
    """The environment of someone who just cloned the project: none of the suite's settings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CSU_", "AWS_", "CELERY_", "DJANGO_", "PYTEST_"))
        and name not in {"DATABASE_URL", "SECRET_KEY", "DEBUG", "PORT"}
    }
    environment.update(CSU_DATA_DIR=str(data_dir), PORT=str(port), CSU_LIVE_PORT=str(free_port()))
    return environment


def honcho_lines(log: Path, process: str) -> list[str]:
    """The lines ``process`` wrote, as honcho prefixes them ("12:00:00 worker.1 | ...")."""
    pattern = re.compile(rf"^\S+ {re.escape(process)}\s+\| (.*)$")
    text = log.read_text(errors="replace") if log.exists() else ""
    return [match[1] for line in text.splitlines() if (match := pattern.match(line))]


def healthz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status == 200 and response.read() == b"ok\n"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def sessions_alive(session_ids: set[int]) -> list[str]:
    """Processes still running in one of these sessions ("pid command")."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...: comm may hold spaces, split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) in session_ids:
            alive.append(f"{entry.name} {command}")
    return alive


class FirstStart:
    """``bin/run`` in its own session, its output (honcho's) in a file."""

    def __init__(self, tmp_path: Path, extra: dict[str, str]) -> None:
        self.data_dir = tmp_path / "data"
        self.log = tmp_path / "bin-run.log"
        self.port = free_port()
        self.environment = {**clean_environment(self.data_dir, self.port), **extra}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / "bin" / "run")],
            cwd=ROOT,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def wait_for(self, what: str, condition: Callable[[], bool], deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(f"bin/run exited ({code}) before {what}:\n{self.tail()}")
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what}:\n{self.tail()}")

    def child_pids(self) -> set[int]:
        """The pids honcho announced ("web.1 started (pid=123)"): each leads its own session."""
        return {int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", self.output())}

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill_everything(self) -> None:
        """Last resort after a failure: nothing of this test outlives it."""
        if self.process is None:
            return
        for session in {self.process.pid, *self.child_pids()}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(session, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@pytest.fixture
def installed_venv() -> None:
    """bin/run must start on the virtualenv as it is: a stale one would be reinstalled first."""
    stamp = ROOT / ".venv" / ".csu-installed"
    if not stamp.exists() or (ROOT / "pyproject.toml").stat().st_mtime > stamp.stat().st_mtime:
        pytest.fail(".venv is not installed from the current pyproject.toml: run bin/test")


@pytest.fixture
def postgres_and_redis() -> Iterator[dict[str, str]]:
    """DATABASE_URL on a database of this test's own, beside the configured one; the broker."""
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not (
        database_url.startswith(("postgres://", "postgresql://"))
        and broker_url.startswith("redis://")
    ):
        pytest.skip("needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… (as CI)")
    config = dj_database_url.parse(database_url)
    name = f"{config['NAME']}_first_start"
    connect = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or "postgres",
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }

    def drop() -> None:
        with psycopg.connect(**connect) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    drop()  # what a run killed halfway left behind
    with psycopg.connect(**connect) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    own_url = urllib.parse.urlsplit(database_url)._replace(path=f"/{name}").geturl()
    environment = {"DATABASE_URL": own_url, "CELERY_BROKER_URL": broker_url}
    try:
        yield environment
    finally:
        # What beat sent and no worker took is not left for the other tests' workers.
        with kombu.Connection(broker_url) as broker:
            for queue in ("celery", "recording"):
                broker.default_channel.queue_purge(queue)
        drop()


def run_and_stop(tmp_path: Path, extra: dict[str, str]) -> None:
    """bin/run: wait for /healthz and each process, then Ctrl-C, and check it all ended."""
    run = FirstStart(tmp_path, extra)
    assert not run.data_dir.exists()
    run.start()
    assert run.process is not None
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        run.wait_for("/healthz", lambda: healthz(run.port), deadline)
        for name in ("worker", "recorder"):
            ready = re.compile(rf"\b{name}@\S+ ready\.")
            process = f"{name}.1"
            run.wait_for(
                f"the {name} process",
                lambda ready=ready, process=process: any(
                    ready.search(line) for line in honcho_lines(run.log, process)
                ),
                deadline,
            )
        # bin/run enqueued the signature of the audit chain head before starting: tasks flow.
        signed = re.compile(r"Task audit\.tasks\.sign_chain_head\[[^\]]+\] succeeded")
        run.wait_for(
            "the worker to sign the audit chain head",
            lambda: any(signed.search(line) for line in honcho_lines(run.log, "worker.1")),
            deadline,
        )
        # The live process (uvicorn, ASGI) serves the wall's video.
        run.wait_for(
            "the live process",
            lambda: any(
                "Application startup complete" in line for line in honcho_lines(run.log, "live.1")
            ),
            deadline,
        )
        # Beat opened (created) its schedule file: past the point where it used to fail.
        run.wait_for(
            "beat's schedule file",
            lambda: (
                any("beat: Starting..." in line for line in honcho_lines(run.log, "beat.1"))
                and any((run.data_dir / "celery").glob("beat-schedule*"))
            ),
            deadline,
        )
        before_stop = run.output()
        assert "stopped (rc=" not in before_stop, run.tail()
        sessions = {run.process.pid, *run.child_pids()}
        assert len(sessions) == 1 + len(PROCESSES), run.tail()

        run.process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            returncode = run.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"bin/run did not stop within {STOP_SECONDS} s:\n{run.tail()}")
        output = run.output()
        after_stop = output[len(before_stop) :]
        # Every process stopped on the signal, by itself: none had to be killed.
        assert returncode == 130, run.tail()
        assert "SIGINT received" in after_stop
        assert "SIGKILL" not in output, run.tail()
        stopped = dict(re.findall(r"\| (\S+) stopped \(rc=(-?\d+)\)", after_stop))
        assert sorted(stopped) == sorted(PROCESSES), run.tail()
        # Celery's processes finish their work and exit 0; the development server just ends.
        assert [stopped[name] for name in ("worker.1", "recorder.1", "beat.1")] == ["0"] * 3
        assert stopped["web.1"] in {"0", str(-signal.SIGTERM)}, run.tail()
        assert stopped["live.1"] in {"0", str(-signal.SIGTERM)}, run.tail()
        assert sessions_alive(sessions) == []
    finally:
        run.kill_everything()


@pytest.mark.usefixtures("installed_venv")
def test_bin_run_starts_every_process_on_a_fresh_embedded_default(tmp_path):
    run_and_stop(tmp_path, {})


@pytest.mark.usefixtures("installed_venv")
def test_bin_run_starts_every_process_on_postgresql_and_redis(tmp_path, postgres_and_redis):
    run_and_stop(tmp_path, postgres_and_redis)
