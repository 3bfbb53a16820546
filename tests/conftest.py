"""Shared fixtures: each persistence test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at CCAAS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Each test session creates its own database there and drops it at the end. When the server cannot be
reached the PostgreSQL variants skip, unless CCAAS_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail.

Helpers and constants live in tests/support/ (test modules import them from there, never from here);
token minting and forging is tests/support/tokens.py.
"""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, demo-seeded database of each back end, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'ccaas.db'}"
        drop = None
    else:
        url, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    prepare_database(Settings(database_url=url, org_url=ORG_URL), clock=FixedClock(NOW))
    yield url
    if drop is not None:
        drop()


@pytest.fixture(scope="session")
def session_database(database_url: str) -> Iterator[Database]:
    database = Database(make_engine(database_url, pool_size=5))
    yield database
    database.dispose()


@pytest.fixture
def database(session_database: Database) -> Iterator[Database]:
    """The session's database, clean and demo-seeded for this test."""
    reset_database(session_database)
    yield session_database


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
