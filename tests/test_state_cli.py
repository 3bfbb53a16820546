"""`ccaas-emulator export FILE` / `import FILE` save and restore the running server's state (issue #18 item 3)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.servers import run_cli, start_server, stop

pytestmark = pytest.mark.slow  # a real `serve` process

JSON = {"Content-Type": "application/json"}


def test_export_then_import_restores_the_running_servers_state(database_for_server, tmp_path):
    server, process = start_server(database_for_server, CCAAS_CLOCK_SPEED="0", CCAAS_TLS_PORT="0")
    try:
        control = f"{server.base}/emulator/v1"
        assert httpx.post(f"{control}/clock", json={"now": "2027-03-01T08:00:00Z"}).status_code == 200
        assert httpx.post(f"{control}/outcomes", json={"phoneNumber": "+15550001", "outcomes": ["NoAnswer"]},
                          headers=JSON).status_code == 201  # fmt: skip
        saved = tmp_path / "state.json"

        exported = run_cli(server.env, "export", str(saved))
        assert exported.returncode == 0, exported.stderr
        assert "exported" in exported.stderr
        document = json.loads(saved.read_text())
        assert document["version"] == 1 and len(document["tables"]["emulator_scripted_outcome"]) == 1

        assert httpx.post(f"{control}/reset", headers=JSON).status_code == 204
        assert httpx.post(f"{control}/clock", json={"now": "2030-01-01T00:00:00Z"}).status_code == 200
        assert httpx.get(f"{control}/outcomes").json()["value"] == []

        imported = run_cli(server.env, "import", str(saved))
        assert imported.returncode == 0, imported.stderr
        assert httpx.get(f"{control}/outcomes").json()["value"][0]["phoneNumber"] == "+15550001"
        assert httpx.get(f"{control}/clock").json()["now"] == "2027-03-01T08:00:00.000Z"

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**document, "version": 2}))
        refused = run_cli(server.env, "import", str(bad))
        assert refused.returncode == 1
        assert "version 2 is not 1" in refused.stderr
        assert httpx.get(f"{control}/outcomes").json()["value"][0]["phoneNumber"] == "+15550001"
    finally:
        stop(process)


def test_import_says_when_the_file_is_missing(tmp_path):
    result = run_cli({"CCAAS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "CCAAS_PORT": "1", "PATH": ""},
                     "import", str(tmp_path / "missing.json"))  # fmt: skip
    assert result.returncode == 1
    assert "cannot read" in result.stderr
