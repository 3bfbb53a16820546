"""The Postman collection (postman/), run by newman against `ccaas-emulator serve` on SQLite and PostgreSQL.

newman is pinned in postman/package.json (with its package-lock.json); `npm ci` runs once per session when
node_modules is missing or stale. The test skips only when node or npm is not on PATH; a failing `npm ci`
fails it. The environment's tokens come from `ccaas-emulator token` run in a shell that shares only the database
with the server (no port), passed as `--env-var`, as the collection's description tells users to do; newman calls
the HTTPS port with the local CA in NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.node import require_node_project
from tests.support.samples import FIXTURES
from tests.support.servers import database_for_server, run_cli, start_server, stop

__all__ = ["database_for_server"]  # a fixture, parametrized over tests.conftest.BACKENDS

POSTMAN = Path(__file__).parents[1] / "postman"
COLLECTION = POSTMAN / "ccaas-emulator.postman_collection.json"
ENVIRONMENT = POSTMAN / "ccaas-emulator.postman_environment.json"
TOKENS = {"agentToken": "agent", "adminToken": "admin", "noroleToken": "norole"}  # variable: demo user


@pytest.fixture(scope="session")
def newman() -> list[str]:
    node = require_node_project(POSTMAN, what="the Postman collection with newman")
    return [node, str(POSTMAN / "node_modules" / "newman" / "bin" / "newman.js")]


def _requests(items: list[dict]) -> Iterator[dict]:
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


def test_the_collection_posts_the_reference_samples_verbatim():
    collection = json.loads(COLLECTION.read_text())
    bodies = [item["request"].get("body", {}).get("raw") for item in _requests(collection["item"])]
    samples = {path.name: path.read_text() for path in FIXTURES.glob("*.json")}

    for name, text in samples.items():
        assert text in bodies, f"the collection does not post tests/fixtures/{name} verbatim"
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert all(item["event"] and any(e["listen"] == "test" for e in item["event"])
               for item in _requests(collection["item"]))  # fmt: skip
    environment = json.loads(ENVIRONMENT.read_text())
    assert {value["key"] for value in environment["values"]} == {"baseUrl", "agentToken", "adminToken", "noroleToken"}


def _token(env: dict[str, str], user: str) -> str:
    result = run_cli(env, "token", "--user", user)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow  # serve, node and newman
def test_newman_runs_the_collection(newman, database_for_server):
    server, process = start_server(database_for_server)
    # Another terminal, as the collection's description says: it shares the database and nothing else (no port,
    # no host), so the tokens must follow the server that is running, on whatever ports it took.
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    other_shell = env | {"CCAAS_DATABASE_URL": database_for_server}
    try:
        with ThreadPoolExecutor(3) as pool:  # three CLI processes at once: a second or two each
            minted = pool.map(lambda user: _token(other_shell, user), TOKENS.values())
            tokens = dict(zip(TOKENS, minted, strict=True))
        ca = run_cli(other_shell, "ca").stdout.strip()
        result = subprocess.run(
            [*newman, "run", str(COLLECTION), "--environment", str(ENVIRONMENT),
             "--env-var", f"baseUrl={server.tls_base}",
             *(argument for name, token in tokens.items() for argument in ("--env-var", f"{name}={token}")),
             "--reporters", "cli", "--color", "off", "--disable-unicode", "--timeout-request", "30000"],
            cwd=POSTMAN, env=env | {"NODE_EXTRA_CA_CERTS": ca}, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    finally:
        stop(process)

    assert result.returncode == 0, f"newman failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    assert "AssertionError" not in result.stdout
