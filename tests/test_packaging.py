"""What a non-editable install gets: the wheel carries everything `ccaas-emulator migrate` reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "src" / "ccaas_emulator" / "db" / "migrations"


@pytest.mark.slow
def test_the_wheel_ships_every_migration_and_the_revision_template(tmp_path):
    # Built from a copy: an in-tree build would leave build/ and egg-info behind in the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(source)],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("ccaas_emulator-*.whl")

    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"ccaas_emulator/db/migrations/{path.relative_to(MIGRATIONS).as_posix()}"
        for path in MIGRATIONS.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "ccaas_emulator/db/migrations/script.py.mako" in expected
    assert expected <= shipped, sorted(expected - shipped)
    # The dashboard's page, script and stylesheet (served from the package: docs/dashboard.md).
    dashboard = {f"ccaas_emulator/dashboard/static/{name}" for name in ("index.html", "dashboard.js", "dashboard.css")}
    assert dashboard <= shipped, sorted(dashboard - shipped)
