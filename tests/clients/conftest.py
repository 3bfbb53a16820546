"""Real clients against `ccaas-emulator serve`: one server per test, on SQLite and on PostgreSQL.

The server, its tokens and the back-end parametrization are the end-to-end tests' own
(tests/test_end_to_end.py: `start_server`, `stop`, the `database_for_server` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.support import Emulator
from tests.test_end_to_end import database_for_server, start_server, stop

__all__ = ["database_for_server"]  # a fixture, parametrized over tests.conftest.BACKENDS


@pytest.fixture
def emulator(database_for_server: str) -> Iterator[Emulator]:
    server, process = start_server(database_for_server)
    try:
        yield Emulator(
            server=server,
            database_url=database_for_server,
            agent_token=server.token("--user", "agent"),
            admin_token=server.token("--user", "admin"),
        )
    finally:
        stop(process)
