"""The back ends every persistence test runs on, and the reset that gives a test the demo data on NOW."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import delete

from ccaas_emulator.clock import FixedClock
from ccaas_emulator.db.base import Base
from ccaas_emulator.db.models import ClockState, SigningKey
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.seed import apply_seed, demo_seed
from tests.support.demo import NOW
from tests.support.postgres import POSTGRES_URL

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
REQUIRE_POSTGRES = os.environ.get("CCAAS_REQUIRE_POSTGRES") == "1"


def postgres_unavailable_reason() -> str | None:
    """Why the PostgreSQL variants cannot run here, or None when the server answers."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}"


def reset_database(database: Database) -> None:
    """Empty every table but the signing keys, restore the demo seed and freeze the shared clock at NOW."""
    with database.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != SigningKey.__tablename__:
                session.execute(delete(table))
        apply_seed(session, demo_seed(), clock=FixedClock(NOW))
        session.add(ClockState(id=1, anchor=NOW, real_anchor=NOW, speed=0.0, version=1))
