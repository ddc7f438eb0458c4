"""The apps' layers hold without imports hidden in functions.

import-linter (``lint-imports``, contracts in ``pyproject.toml``) checks that no app imports one
above it. A cycle between modules can still be dodged by importing inside a function, where
Python runs it late: this test reads every module of the project (``ast``, nothing is run) and
fails on an import of a project module placed inside a function or a method. Libraries imported
late (OpenCV, matplotlib, GStreamer…) are fine: they cost time or need a display, not a cycle.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The project's packages: the wiring with its building blocks (csu, csu.lib) and every app.
PACKAGES = (
    "csu",
    "accounts",
    "audit",
    "cameras",
    "recordings",
    "live",
    "evidence",
    "operations",
    "compliance",
)

#: Imports inside a function for a reason other than a cycle, by (file, function): one line each.
ALLOWED = {
    # Django's documented place: the app registry is loading, models and registrations wait.
    ("*/apps.py", "*.ready"): "AppConfig.ready runs once every app is loaded",
    ("csu/celery.py", "refuse_unsafe_production_start"): (
        "csu.celery is imported with the settings, before django.setup() loads the apps"
    ),
}


@dataclass(frozen=True)
class LateImport:
    path: str  # relative to the repository, with "/"
    function: str  # qualified: Class.method, outer.inner
    name: str  # what is imported, in full: "evidence.tasks", "audit.selectors.chain_state"
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): import of {self.name}"


def _imported(node: ast.Import | ast.ImportFrom, alias: ast.alias, relative: str) -> str:
    if isinstance(node, ast.Import):
        return alias.name
    if node.level == 0:
        return f"{node.module}.{alias.name}"
    # A relative import names a module of the file's own package.
    package = Path(relative).parent.parts
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else []), alias.name])


def late_project_imports(source: str, relative: str) -> list[LateImport]:
    """Imports of project modules inside functions or methods of ``source``.

    ``relative`` is the file's path in the repository (``audit/tasks.py``).
    """
    found: list[LateImport] = []

    def visit(node: ast.AST, scope: list[str], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, [*scope, child.name], True)
            elif isinstance(child, ast.ClassDef):
                visit(child, [*scope, child.name], in_function)
            elif isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                for alias in child.names:
                    name = _imported(child, alias, relative)
                    if name.split(".")[0] in PACKAGES:
                        found.append(LateImport(relative, ".".join(scope), name, child.lineno))
            else:
                visit(child, scope, in_function)

    visit(ast.parse(source, filename=relative), [], False)
    return found


def project_modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def all_late_imports() -> list[LateImport]:
    return [
        item
        for path in project_modules()
        for item in late_project_imports(
            path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()
        )
    ]


def _allowed(item: LateImport) -> bool:
    for path, function in ALLOWED:
        path_ok = item.path == path or (
            path.startswith("*/") and item.path.endswith(path[1:]) and "/" in item.path
        )
        name_ok = item.function == function or (
            function.startswith("*.") and item.function.endswith(function[1:])
        )
        if path_ok and name_ok:
            return True
    return False


def test_every_package_is_read():
    paths = {path.relative_to(ROOT).parts[0] for path in project_modules()}
    assert paths == set(PACKAGES)
    assert (ROOT / "csu" / "lib" / "pdf.py") in project_modules()


def test_no_project_import_sits_inside_a_function():
    offenders = [str(item) for item in all_late_imports() if not _allowed(item)]
    assert not offenders, (
        "Import these at the top of the module; if that makes a cycle, move the code to the "
        "layer it belongs to (lint-imports shows the layers):\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    from audit import chain, models\n", ["f:audit.chain", "f:audit.models"]),
        ("class C:\n    def m(self):\n        import evidence.export\n", ["C.m:evidence.export"]),
        ("def f():\n    def g():\n        from . import tasks\n", ["f.g:audit.tasks"]),
        ("def f():\n    import cv2\n    from django.conf import settings\n", []),
        ("from audit import chain\n\nif True:\n    import accounts.roles\n", []),
        ("class C:\n    from audit import chain\n", []),
    ],
)
def test_the_reader_finds_what_it_claims(source, expected):
    found = [f"{i.function}:{i.name}" for i in late_project_imports(source, "audit/probe.py")]
    assert found == expected


def test_the_allowances_are_narrow():
    ready = LateImport("cameras/apps.py", "CamerasConfig.ready", "cameras.actions", 1)
    elsewhere = LateImport("cameras/services.py", "CamerasConfig.ready", "cameras.actions", 1)
    other_method = LateImport("cameras/apps.py", "CamerasConfig.setup", "cameras.actions", 1)
    assert _allowed(ready)
    assert not _allowed(elsewhere)
    assert not _allowed(other_method)


def test_the_wiring_contract_names_every_module_of_csu_but_its_building_blocks():
    """Apps may use ``csu.lib`` only: the forbidden contract lists the rest of ``csu``, and a
    module added to ``csu`` must join it (or go to ``csu.lib`` if it knows no app)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"] == "No app imports the project's wiring"
    )
    wiring = {
        f"csu.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "csu").iterdir()
        if path.name not in {"__init__.py", "lib", "__pycache__"}
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    assert set(contract["forbidden_modules"]) == wiring
