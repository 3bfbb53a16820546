"""The `ccaas` pytest fixture the package ships (issue #18 item 2): a user's suite gets a running emulator with no
configuration. The slow test builds a fresh virtual environment from this source, as a user installs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccaas_emulator.pytest_plugin import delivery_filter

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "test_integration_example.py"
WHEELHOUSE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ccaas-emulator-tests" / "wheelhouse"
"""The dependencies' wheels, kept between runs so the fresh venv installs offline in seconds."""
HEAVY = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "httpx", "alembic", "pydantic")


def test_loading_the_plugin_imports_nothing_heavy_and_starts_nothing():
    # pytest loads it in every session of every project with the package installed (entry point pytest11).
    probe = (
        "import sys, threading; before = set(sys.modules); import ccaas_emulator.pytest_plugin; "
        "import json; print(json.dumps({'modules': sorted(set(sys.modules) - before), "
        "'threads': threading.active_count()}))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                       check=True).stdout)  # fmt: skip
    assert [name for name in loaded["modules"] if name.split(".")[0] in HEAVY] == []
    assert [name for name in loaded["modules"] if name.startswith("ccaas_emulator.")] == [
        "ccaas_emulator.pytest_plugin"
    ]
    assert loaded["threads"] == 1


def test_the_plugin_is_registered_as_a_pytest11_entry_point():
    from importlib.metadata import entry_points

    assert [entry.value for entry in entry_points(group="pytest11") if entry.name == "ccaas"] == [
        "ccaas_emulator.pytest_plugin"
    ]


def test_delivery_filters_are_odata_equalities_with_readable_names():
    assert delivery_filter({"status": "Complete", "phone": "+1555'0"}) == (
        "msdyn_to_address eq '+1555''0' and msdyn_status eq 'Complete'"
    )
    assert delivery_filter({"msdyn_result": None}) == "msdyn_result eq null"
    with pytest.raises(ValueError, match="not a delivery column"):
        delivery_filter({"msdyn_status eq 'x' or 1": 1})


@pytest.mark.slow
def test_a_users_suite_passes_with_only_the_fixture_from_a_fresh_virtual_environment(tmp_path):
    """`python -m venv` + `pip install <this source>` + pytest, then the example test file (docs/examples),
    which uses nothing but the `ccaas` fixture. pip's cache stays on, so a second run installs from it."""
    started = time.monotonic()
    # Built from a copy: an in-tree build would leave build/ and egg-info behind in the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CCAAS_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))}  # fmt: skip
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source), "pytest"]
    offline = [*install, "--no-index", "--find-links", str(WHEELHOUSE)]
    if subprocess.run(offline, env=env, timeout=300, capture_output=True).returncode != 0:
        # First run, or a dependency changed: fetch the wheels once (pip's own cache helps), then install offline.
        fetch = [python, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "-w", str(WHEELHOUSE)]
        subprocess.run([*fetch, str(source), "pytest", "setuptools>=69", "wheel"], check=True, timeout=600, env=env)
        for ours in WHEELHOUSE.glob("ccaas_emulator-*.whl"):
            ours.unlink()  # always built from the source under test, never taken from the wheelhouse
        subprocess.run(offline, check=True, timeout=300, env=env)
    installed = time.monotonic()

    suite = tmp_path / "users-suite"
    suite.mkdir()
    shutil.copy(EXAMPLE, suite / "test_integration.py")
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=3"],
                         cwd=suite, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    print(run.stdout[-3000:], run.stderr[-2000:])
    print(f"venv and install: {installed - started:.1f} s; the user's suite: {time.monotonic() - installed:.1f} s")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("3 passed"), run.stdout
