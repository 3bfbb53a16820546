"""The test suite's layout: shared code lives in tests/support/, so no test module imports another test module
or a conftest (a test's helpers would otherwise load, and collect, someone else's tests)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_modules(path: Path, root: Path = TESTS) -> set[str]:
    """Every module `path` (under the tests folder `root`) imports, at any depth, as a dotted name."""
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from tests import conftest`
    return found


def forbidden(module: str, root: Path = TESTS) -> bool:
    """Part of the test tree but not shared support code: a test module, a conftest, a helper outside support/."""
    parts = module.split(".")
    if parts[0] != "tests" or len(parts) == 1 or parts[1] == "support":
        return False
    return not (len(parts) == 2 and (root / parts[1]).is_dir())  # `tests.dialer` itself is only a package


def offenders(root: Path) -> dict[str, list[str]]:
    found = {
        str(path.relative_to(root)): sorted(m for m in imported_modules(path, root) if forbidden(m, root))
        for path in sorted(root.rglob("*.py"))
        if "node_modules" not in path.parts
    }
    return {path: modules for path, modules in found.items() if modules}


def test_no_module_of_the_tests_imports_a_test_module_or_a_conftest():
    assert offenders(TESTS) == {}


def test_the_scan_finds_each_kind_of_forbidden_import(tmp_path):
    root = tmp_path / "tests"
    (root / "dialer").mkdir(parents=True)
    (root / "dialer" / "test_example.py").write_text(
        "from tests.conftest import NOW\n"
        "from tests.dialer.test_workers import counts\n"
        "from . import conftest\n"
        "from tests.support.demo import ORG_URL\n"
        "import tests.bulk\n"
        "def later():\n"
        "    from ..test_end_to_end import start_server\n"
    )

    assert offenders(root) == {
        "dialer/test_example.py": [
            "tests.bulk",
            "tests.conftest",
            "tests.conftest.NOW",
            "tests.dialer.conftest",
            "tests.dialer.test_workers",
            "tests.dialer.test_workers.counts",
            "tests.test_end_to_end",
            "tests.test_end_to_end.start_server",
        ]
    }
