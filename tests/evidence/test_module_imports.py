"""The evidence modules import one another at their top, in one direction.

``tests/test_architecture.py`` refuses a project import hidden inside a function (how a cycle
is made to hold); here, the graph of the evidence modules' imports has no cycle, and the build's
task and time limits are defined once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import evidence
from evidence import packages, services, tasks

ROOT = Path(evidence.__file__).parent


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(path.relative_to(ROOT.parent).with_suffix("").parts): ast.parse(
            path.read_text(), filename=str(path)
        )
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.parts
    }


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules ``node`` imports (``from evidence import a, b``: evidence.a, evidence.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _top_level_graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[name] |= {target for target in _imported(node) if target in modules}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as the path that closes it, or [] when there is none."""
    done: set[str] = set()
    path: list[str] = []

    def walk(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(graph[node]):
            if found := walk(target):
                return found
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        if found := walk(start):
            return found
    return []


def test_the_evidence_modules_import_one_another_without_a_cycle():
    graph = _top_level_graph(_modules())
    assert "evidence.services" in graph["evidence.export"]
    assert "evidence.services" in graph["evidence.tasks"]
    assert _cycle(graph) == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_services_queue_the_build_task_by_its_name():
    assert tasks.build_export.name == services.BUILD_TASK


def test_a_stalled_export_is_one_older_than_the_build_time_limit():
    assert tasks.build_export.time_limit == packages.BUILD_TIME_LIMIT.total_seconds()
    assert tasks.build_export.soft_time_limit < tasks.build_export.time_limit
    assert packages.STALLED_AFTER > packages.BUILD_TIME_LIMIT
