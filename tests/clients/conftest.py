"""Real clients against `ccaas-emulator serve`: one server per test, on SQLite and on PostgreSQL.

The server and the back-end parametrization (`database_for_server`) are tests/support/servers.py's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import HttpsEmulator, ServedEmulator, start_server, stop


@pytest.fixture
def served_emulator(database_for_server: str) -> Iterator[ServedEmulator]:
    server, process = start_server(database_for_server)
    try:
        yield ServedEmulator(
            server=server,
            database_url=database_for_server,
            agent_token=server.token("--user", "agent"),
            admin_token=server.token("--user", "admin"),
        )
    finally:
        stop(process)


@pytest.fixture
def https_emulator(database_for_server: str) -> Iterator[HttpsEmulator]:
    """`serve` with its own HTTPS listener (a free port) and the CA file it wrote for its database."""
    server, process = start_server(database_for_server)
    try:
        yield HttpsEmulator(server=server, database_url=database_for_server, ca=server.ca_bundle())
    finally:
        stop(process)
