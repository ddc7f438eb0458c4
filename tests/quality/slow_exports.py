"""The worker app of the fault tests: csu's, with each export step slowed down.

A real export of test footage takes well under a second; slowed, the test can kill the worker
while the package is being written, not before or after.
"""

from __future__ import annotations

import os
import time

from celery.signals import task_prerun

from csu.celery import app

__all__ = ["app"]

STEP_DELAY = float(os.environ.get("CSU_TEST_EXPORT_STEP_DELAY", "1"))


@task_prerun.connect
def _slow_export_steps(**kwargs: object) -> None:
    from evidence import manifest

    if getattr(manifest.Progress.step, "slowed", False):
        return
    original = manifest.Progress.step

    def step(self, label: str, share: float | None = None) -> None:
        original(self, label, share)
        time.sleep(STEP_DELAY)

    step.slowed = True  # type: ignore[attr-defined]
    manifest.Progress.step = step  # type: ignore[method-assign]
