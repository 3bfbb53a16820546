"""Shared fixtures: each persistence test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at CCAAS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Each test session creates its own database there and drops it at the end. When the server cannot be
reached the PostgreSQL variants skip, unless CCAAS_REQUIRE_POSTGRES=1 (set by .ci/run): then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from jose import jws
from sqlalchemy import delete

from ccaas_emulator.app import create_app
from ccaas_emulator.auth.keys import SigningKeys
from ccaas_emulator.auth.tokens import mint_token
from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.db.base import Base
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import ClockState, SigningKey
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.seed import apply_seed, demo_seed
from ccaas_emulator.settings import Settings
from tests.scratch import POSTGRES_URL, create_postgres_database

FIXTURES = Path(__file__).parent / "fixtures"
ORG_URL = "https://contoso.crm.dynamics.com"
NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
REQUIRE_POSTGRES = os.environ.get("CCAAS_REQUIRE_POSTGRES") == "1"
DEMO_USERS = {user.userName: user.objectId for user in demo_seed().users}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return orjson.loads(fixture_bytes(name))


# --- PostgreSQL -------------------------------------------------------------------------------------------


def _postgres_unavailable_reason() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_unavailable_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (CCAAS_REQUIRE_POSTGRES=1 makes this a failure)")
        pytest.skip(reason)
    return POSTGRES_URL


# --- backends ---------------------------------------------------------------------------------------------

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


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


def reset_database(database: Database) -> None:
    """Empty every table but the signing keys, restore the demo seed and freeze the shared clock at NOW."""
    with database.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != SigningKey.__tablename__:
                session.execute(delete(table))
        apply_seed(session, demo_seed(), clock=FixedClock(NOW))
        session.add(ClockState(id=1, anchor=NOW, real_anchor=NOW, speed=0.0, version=1))


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


@dataclass
class Tokens:
    """Mints tokens as the emulator's authority would, or crafted ones for attack tests."""

    keys: SigningKeys
    settings: Settings
    now: datetime

    def for_user(self, user: str = "agent", **overrides: Any) -> str:
        return mint_token(
            self.keys,
            object_id=overrides.pop("object_id", DEMO_USERS.get(user, uuid.uuid4())),
            user_name=user,
            tenant=overrides.pop("tenant", self.settings.tenant),
            audience=overrides.pop("audience", self.settings.org_url),
            issued_at=overrides.pop("issued_at", self.now),
            expires_in=overrides.pop("expires_in", 3600),
            version=overrides.pop("version", 1),
        )

    def claims(self, user: str = "agent") -> dict[str, Any]:
        payload = jws.get_unverified_claims(self.for_user(user))
        return orjson.loads(payload)

    def signed(self, claims: dict[str, Any], **header: Any) -> str:
        key = self.keys.signing_key
        return jws.sign(
            orjson.dumps(claims),
            key.private_pem,
            headers={"kid": key.kid, **header},
            algorithm=header.pop("alg", "RS256"),
        )


@pytest.fixture
def tokens(client: TestClient, settings: Settings, clock: FixedClock) -> Tokens:
    # Token lifetimes are judged on real time, whatever the emulator's clock says.
    return Tokens(client.app.state.runtime.keys, settings, real_now())  # type: ignore[attr-defined]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture
def agent_headers(tokens: Tokens) -> dict[str, str]:
    return bearer(tokens.for_user("agent"))
