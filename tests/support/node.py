"""Node projects the tests run (DynamicsWebApi, newman): their pinned packages installed by `npm ci`, once.

The tests skip only when node or npm is not on PATH; a failing `npm ci` fails them.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def require_node_project(project: Path, *, what: str) -> str:
    """The node binary, once `project`'s pinned dependencies are installed (`npm ci` when missing or stale)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"node and npm are needed on PATH to run {what} ({project.name}/)")
    with _exclusive(f"ccaas-emulator-{project.name}-npm-ci.lock"):
        if not _installed(project):
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert result.returncode == 0, f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            assert _installed(project), f"npm ci did not install the pinned packages of {project}"
    return node


@contextmanager
def _exclusive(name: str) -> Iterator[None]:
    """One `npm ci` at a time, should several pytest processes (xdist) reach it together."""
    with open(Path(tempfile.gettempdir()) / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _installed(project: Path) -> bool:
    wanted = json.loads((project / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        manifest = project / "node_modules" / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True
