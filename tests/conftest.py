"""Shared fixtures: each persistence test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at CCAAS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Each test session creates its own database there and drops it at the end. When the server cannot be
reached the PostgreSQL variants skip, unless CCAAS_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail.

Helpers and constants live in tests/support/ (test modules import them from there, never from here);
token minting and forging is tests/support/tokens.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app, forget_apps
from tests.support.database import (
    BACKENDS,
    REQUIRE_POSTGRES,
    PreparedDatabases,
    postgres_unavailable_reason,
    reset_database,
)
from tests.support.demo import NOW, ORG_URL
from tests.support.postgres import POSTGRES_URL
from tests.support.tokens import Tokens, bearer

# Fixtures shared across folders: `emulator` (in process; dialer and OData tests) and `database_for_server`.
pytest_plugins = ["tests.support.in_process", "tests.support.servers", "tests.support.fuzz_tally"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m "not slow"` (make test-fast), a module marked slow as a whole is not even imported: importing
    them (schemathesis's document, python-odata, ...) costs seconds at every worker's start."""
    if config.option.markexpr.strip() != "not slow" or not collection_path.name.startswith("test_"):
        return None
    if collection_path.suffix != ".py":
        return None
    return "\npytestmark = pytest.mark.slow" in collection_path.read_text() or None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        forget_apps()  # the test's apps die with it (tests/support/apps.py)


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
# copy costs ~1 ms); on PostgreSQL the tests share the session's database and `database` empties it and copies
# the seeded rows back from a snapshot (a few ms; CREATE DATABASE ... TEMPLATE costs ~500 ms here). A rollback
# cannot isolate them: the app commits through its group committer, on its own threads.


@pytest.fixture(scope="session")
def prepared_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreparedDatabases]:
    databases = PreparedDatabases(tmp_path_factory)
    yield databases
    databases.drop()


@pytest.fixture(scope="session", params=BACKENDS)
def session_database_url(request: pytest.FixtureRequest, prepared_databases: PreparedDatabases) -> str:
    """A migrated, demo-seeded database of each back end, made once per session (SQLite: the tests' template).

    pytest tears a parametrized session fixture down whenever the next test takes the other parameter (with
    xdist --dist loadscope, about once a module), so the databases themselves live in `prepared_databases`.
    """
    return prepared_databases.url(request.param, lambda: request.getfixturevalue("postgres_admin_url"))


@pytest.fixture(scope="session")
def session_database(session_database_url: str) -> Iterator[Database]:
    database = Database(make_engine(session_database_url, pool_size=5))
    yield database
    database.dispose()


@pytest.fixture
def database_url(session_database_url: str, prepared_databases: PreparedDatabases, tmp_path: Path) -> str:
    """This test's database: on SQLite a fresh copy of the template, on PostgreSQL the session's (reset by
    `database`)."""
    if session_database_url.startswith("sqlite:///"):
        return prepared_databases.sqlite_copy(tmp_path / "this-test.db")
    return session_database_url


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
    app = create_test_app(settings, clock=clock, database=database)
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
