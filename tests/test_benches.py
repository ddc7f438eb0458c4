"""Each bench script starts on its own (``python bench/NAME.py``), as bench/README.md says.

Running a bench takes minutes; ``--help`` imports everything it uses and parses its options,
which is where a bench breaks when the code it measures moves (an app loaded too late, an
import renamed).
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted(path.name for path in (ROOT / "bench").glob("*.py"))


def test_every_bench_is_listed():
    assert {"recording.py", "dashboard.py", "purge.py", "export.py", "live.py"} <= set(BENCHES)


@pytest.mark.parametrize("name", BENCHES)
def test_the_bench_starts_on_its_own(name, tmp_path):
    environment = {**os.environ, "CSU_DATA_DIR": str(tmp_path)}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, f"bench/{name}", "--help"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


PROJECT = {
    "accounts",
    "audit",
    "cameras",
    "compliance",
    "csu",
    "evidence",
    "live",
    "operations",
    "recordings",
    "tests",
}


@pytest.mark.parametrize("name", BENCHES)
def test_every_project_module_a_bench_imports_exists(name):
    """Imports inside a bench's functions run only minutes into a run: each must still name a
    module of the project (or a name in it) after the code it measures has moved."""
    tree = ast.parse((ROOT / "bench" / name).read_text(encoding="utf-8"))
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module, attribute in modules:
            if module.split(".")[0] not in PROJECT:
                continue
            try:
                imported = importlib.import_module(module)
            except ImportError:
                missing.append(f"{node.lineno}: {module}")
                continue
            if attribute and not hasattr(imported, attribute):
                try:
                    importlib.import_module(f"{module}.{attribute}")
                except ImportError:
                    missing.append(f"{node.lineno}: {module}.{attribute}")
    assert not missing, missing
