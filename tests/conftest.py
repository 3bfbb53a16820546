"""Shared fixtures: each persistence test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at CCAAS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Each test session creates its own database there and drops it at the end. When the server cannot be
reached the PostgreSQL variants skip, unless CCAAS_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail.

Helpers and constants live in tests/support/ (test modules import them from there, never from here);
token minting and forging is tests/support/tokens.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.app import create_app
from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.settings import Settings
from tests.support.database import BACKENDS, REQUIRE_POSTGRES, postgres_unavailable_reason, reset_database
from tests.support.demo import NOW, ORG_URL
from tests.support.postgres import POSTGRES_URL, create_postgres_database
from tests.support.tokens import Tokens, bearer

# Fixtures shared across folders: `emulator` (in process; dialer and OData tests) and `database_for_server`.
pytest_plugins = ["tests.support.in_process", "tests.support.servers"]


# --- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = postgres_unavailable_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (CCAAS_REQUIRE_POSTGRES=1 makes this a failure)")
        pytest.skip(reason)
    return POSTGRES_URL


# --- backends ---------------------------------------------------------------------------------------------
#
# Isolation: on SQLite each test gets a fresh copy of a database migrated and seeded once per session (a file
# copy costs ~1 ms); on PostgreSQL the tests share the session's database and `database` empties and reseeds
# it (~35 ms here, where CREATE DATABASE ... TEMPLATE costs ~500 ms). A rollback cannot isolate them: the app
# commits through its group committer, on its own threads.


@pytest.fixture(scope="session", params=BACKENDS)
def session_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, demo-seeded database of each back end, made once per session (SQLite: the tests' template)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'ccaas.db'}"
        drop = None
    else:
        url, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    prepare_database(Settings(database_url=url, org_url=ORG_URL), clock=FixedClock(NOW))
    template = Database(make_engine(url, pool_size=1))
    reset_database(template)  # the state every test starts from, the shared clock frozen at NOW
    template.dispose()
    yield url
    if drop is not None:
        drop()


@pytest.fixture(scope="session")
def session_database(session_database_url: str) -> Iterator[Database]:
    database = Database(make_engine(session_database_url, pool_size=5))
    yield database
    database.dispose()


@pytest.fixture
def database_url(session_database_url: str, tmp_path: Path) -> str:
    """This test's database: on SQLite a copy of the session's, on PostgreSQL the session's (reset by `database`)."""
    if not session_database_url.startswith("sqlite:///"):
        return session_database_url
    copy = tmp_path / "this-test.db"
    with (
        closing(sqlite3.connect(session_database_url.removeprefix("sqlite:///"))) as source,
        closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)  # consistent whatever the session's connections left in the write-ahead log
    return f"sqlite:///{copy}"


@pytest.fixture
def database(database_url: str, session_database_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """This test's database, demo-seeded, its shared clock frozen at NOW."""
    if database_url == session_database_url:
        shared: Database = request.getfixturevalue("session_database")
        reset_database(shared)
        yield shared
        return
    database = Database(make_engine(database_url, pool_size=5))
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, org_url=ORG_URL, demo_seed=True)


@pytest.fixture
def client(settings: Settings, clock: FixedClock, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, database=database)
    with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as test_client:
        yield test_client


# --- tokens -----------------------------------------------------------------------------------------------


@pytest.fixture
def tokens(client: TestClient, settings: Settings, clock: FixedClock) -> Tokens:
    # Token lifetimes are judged on real time, whatever the emulator's clock says.
    return Tokens(client.app.state.runtime.keys, settings, real_now())  # type: ignore[attr-defined]


@pytest.fixture
def agent_headers(tokens: Tokens) -> dict[str, str]:
    return bearer(tokens.for_user("agent"))
