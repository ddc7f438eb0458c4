"""Start the Procfile's processes as ``honcho start`` does (run by bin/run), and stop them gently.

honcho stops a process by sending SIGTERM to its whole process group, and SIGKILL 5 s later.
A Celery prefork worker's pool children then die at once, one of them holding the pool's queue
lock: the task in progress is lost and the worker hangs at exit until killed. Here each command
is exec'd by its shell, so that SIGTERM reaches the process itself alone: a Celery worker
finishes its tasks and stops its own children, a recorder closes its segment. Whatever still
runs STOP_SECONDS later is killed, its whole process group with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from honcho import compat, environ, manager
from honcho.printer import Printer

STOP_SECONDS = 30


class ProcessLeaderFirst(compat.ProcessManager):
    """SIGTERM to the process only; SIGKILL (inherited) to its whole group."""

    def terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def main() -> None:
    procfile = environ.parse_procfile(Path("Procfile").read_text(encoding="utf-8"))
    dotenv = Path(".env")
    env = environ.parse(dotenv.read_text(encoding="utf-8")) if dotenv.exists() else {}
    port = int(os.environ.get("PORT") or 5000)

    manager.KILL_WAIT = STOP_SECONDS
    runner = manager.Manager(Printer(sys.stdout))
    runner._procmgr = ProcessLeaderFirst()
    for process in environ.expand_processes(procfile.processes, env=env, port=port):
        runner.add_process(
            process.name, f"exec {process.cmd}", quiet=process.quiet,
            env={**os.environ, **process.env},
        )  # fmt: skip
    runner.loop()
    sys.exit(runner.returncode)


if __name__ == "__main__":
    main()
