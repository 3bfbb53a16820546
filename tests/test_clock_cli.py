"""`ccaas-emulator clock show | set | advance` reach the running server's control API (issue #17 item 1)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.servers import run_cli, start_server, stop

pytestmark = pytest.mark.slow  # a real `serve` process


def test_the_clock_commands_show_set_and_advance_the_running_servers_clock(database_for_server):
    server, process = start_server(database_for_server, CCAAS_CLOCK_SPEED="0")
    try:
        set_ = run_cli(server.env, "clock", "set", "2027-03-01T08:00:00Z")
        assert set_.returncode == 0, set_.stderr
        assert set_.stdout.startswith("2027-03-01T08:00:00.000Z  (speed 0)")

        advanced = run_cli(server.env, "clock", "advance", "P1DT2H")
        assert advanced.returncode == 0, advanced.stderr
        assert advanced.stdout.splitlines()[0] == "2027-03-02T10:00:00.000Z  (speed 0)"
        assert "dialled" in advanced.stdout

        shown = run_cli(server.env, "clock", "show")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == "2027-03-02T10:00:00.000Z  (speed 0)"
        assert httpx.get(f"{server.base}/emulator/v1/clock").json()["now"] == "2027-03-02T10:00:00.000Z"

        refused = run_cli(server.env, "clock", "advance", "two days")
        assert refused.returncode == 1
        assert "advance" in refused.stderr
    finally:
        stop(process)


def test_the_clock_commands_say_when_no_server_answers(tmp_path):
    result = run_cli({"CCAAS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "CCAAS_PORT": "1", "PATH": ""},
                     "clock", "show")  # fmt: skip

    assert result.returncode == 1
    assert "cannot reach the server at http://127.0.0.1:1/emulator/v1/clock" in result.stderr
