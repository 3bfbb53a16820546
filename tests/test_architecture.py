"""The layers of src/ccaas_emulator stay layers: no import cycle between its top-level modules and packages.

Every import counts, those inside functions too, except the ones under `if TYPE_CHECKING:` (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "ccaas_emulator"
ROOT = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module this code imports when it runs (TYPE_CHECKING blocks skipped), as absolute names."""
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.orelse:
            yield from _imports(child, module, is_package)
        return
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        yield target
        yield from (f"{target}.{alias.name}" for alias in node.names)  # `from pkg import module`
    for child in ast.iter_child_nodes(node):
        yield from _imports(child, module, is_package)


def _unit(module: str) -> str | None:
    """The top-level module or package of ccaas_emulator a module belongs to."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def unit_graph() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the module-level imports that make the edge (for the failure message)."""
    units = {
        path.stem if path.is_file() else path.name for path in ROOT.iterdir() if path.suffix == ".py" or path.is_dir()
    }
    graph: dict[str, dict[str, set[str]]] = {}
    for path in ROOT.rglob("*.py"):
        module = _module_name(path)
        source = _unit(module) or "__init__"
        for target in _imports(ast.parse(path.read_text()), module, path.name == "__init__.py"):
            unit = _unit(target)
            if unit in units and unit != source:
                graph.setdefault(source, {}).setdefault(unit, set()).add(f"{module} -> {target}")
    return graph


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for target in graph.get(unit, {}):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == unit:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, set[str]]]:
    """The sources do not change during a run: parsed once for the module's tests, not once for each (~1 s)."""
    return unit_graph()


def test_no_import_cycle_between_the_top_level_modules_and_packages(graph):
    cycles = _cycles(graph)
    detail = [
        edge
        for cycle in cycles
        for source in cycle
        for target in cycle
        for edge in sorted(graph.get(source, {}).get(target, ()))
    ]
    assert cycles == [], "\n".join(detail)


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("dialer", "intake"),  # the dialer reads stored deliveries as domain objects, never through intake's validators
        ("wire", "runtime"),
        ("wire", "intake"),
        ("wire", "odata"),
        ("wire", "auth"),
        ("wire", "dialer"),
        ("domain", "db"),
        ("db", "intake"),
        ("db", "dialer"),
        ("db", "tasks"),
        ("wire", "tasks"),
        ("dialer", "tasks"),  # the task APIs and the dialer meet only in the tables (and their lock order)
        ("chain", "db"),  # contact chaining is pure rules: no tables, no dialer, no wire
        ("chain", "dialer"),
        ("chain", "intake"),
        ("chain", "wire"),
    ],
)
def test_a_lower_layer_imports_nothing_from_an_upper_one(graph, lower, upper):
    assert sorted(graph.get(lower, {}).get(upper, ())) == []


@pytest.mark.parametrize(
    "unit", ["auth", "control", "dialer", "intake", "odata", "operations", "metrics", "tasks", "wire"]
)
def test_only_app_assembly_imports_the_process_container(graph, unit):
    # Routers get the process's pieces through deps.py; Runtime is named for typing only.
    assert sorted(graph.get(unit, {}).get("runtime", ())) == []


def test_the_scan_sees_imports_inside_functions_and_skips_type_checking_blocks(tmp_path):
    code = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ccaas_emulator.runtime import Runtime\n"
        "def f():\n    from ccaas_emulator.intake import rules\n"
    )
    imported = set(_imports(code, "ccaas_emulator.dialer.x", False))
    assert "ccaas_emulator.intake" in imported
    assert "ccaas_emulator.runtime" not in imported
