"""The back ends every persistence test runs on, and the reset that gives a test the demo data on NOW."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Table, delete, text
from sqlalchemy.orm import Session

from ccaas_emulator.clock import FixedClock
from ccaas_emulator.db.base import Base
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import ClockState, SigningKey, TimeZoneDefinition
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.seed import apply_seed, demo_seed
from ccaas_emulator.settings import Settings
from tests.support.demo import NOW, ORG_URL
from tests.support.postgres import POSTGRES_URL, create_postgres_database

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


# PostgreSQL schema holding the seeded rows, copied back by each reset; its tables are named seed_<table>, so
# nothing that looks tables up by name alone (housekeeping reads pg_stat_user_tables by relname) finds them.
SNAPSHOT = "test_seed_snapshot"
# Rows a reset keeps: the signing keys, and the time zone list migration 0005 fills (no seed restores it).
KEPT = frozenset({SigningKey.__tablename__, TimeZoneDefinition.__tablename__})


def reset_database(database: Database) -> None:
    """Empty every table but the kept ones, restore the demo seed and freeze the shared clock at NOW."""
    with database.transaction() as session:
        if database.engine.dialect.name == "postgresql" and _has_snapshot(session):
            # One round trip: deleting and copying the seeded rows back statement by statement took ~50.
            session.execute(text(f"SELECT {SNAPSHOT}.restore()"))
            return
        for table in reversed(_reset_tables()):
            session.execute(delete(table))
        apply_seed(session, demo_seed(), clock=FixedClock(NOW))
        session.add(ClockState(id=1, anchor=NOW, real_anchor=NOW, speed=0.0, version=1))


def snapshot_seed(database: Database) -> None:
    """Keep a copy of every table's rows as they are now (PostgreSQL), and the function reset_database calls to
    empty the tables and copy them back (~2 ms; seeding through the ORM again costs ~20)."""
    tables = _reset_tables()
    deletes = "".join(f'DELETE FROM "{table.name}";\n' for table in reversed(tables))
    inserts = "".join(f'INSERT INTO "{table.name}" SELECT * FROM {SNAPSHOT}."seed_{table.name}";\n' for table in tables)
    with database.transaction() as session:
        session.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE"))
        session.execute(text(f"CREATE SCHEMA {SNAPSHOT}"))
        for table in tables:
            session.execute(text(f'CREATE TABLE {SNAPSHOT}."seed_{table.name}" AS SELECT * FROM "{table.name}"'))
        session.execute(
            text(
                f"CREATE FUNCTION {SNAPSHOT}.restore() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n"
                f"{deletes}{inserts}END\n$$"
            )
        )
    _snapshots.add(database.engine.url.render_as_string(hide_password=False))


def _reset_tables() -> list[Table]:
    return [table for table in Base.metadata.sorted_tables if table.name not in KEPT]


# Databases whose snapshot this process made (each session makes its own PostgreSQL database).
_snapshots: set[str] = set()


def _has_snapshot(session: Session) -> bool:
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return url in _snapshots


class PreparedDatabases:
    """Each back end's migrated, demo-seeded database, made when first asked for; `drop` removes them.

    SQLite keeps a template no test opens: each test gets a copy (`sqlite_copy`), and so does the session's
    shared database (what module-scoped fixtures write there cannot reach the template).
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._folder = tmp_path_factory.mktemp("databases")
        self._template: Path | None = None
        self._urls: dict[str, str] = {}
        self._drops: list[Callable[[], None]] = []

    def url(self, backend: str, postgres_admin_url: Callable[[], str]) -> str:
        """The session's shared database of `backend`."""
        if backend not in self._urls:
            if backend == "sqlite":
                self._template = self._folder / "template.db"
                _prepare(f"sqlite:///{self._template}")
                leftovers = [path.name for path in self._folder.glob("template.db-*")]
                assert not leftovers, f"the SQLite template must be closed and checkpointed, found {leftovers}"
                url = self.sqlite_copy(self._folder / "session.db")
            else:
                url, drop = create_postgres_database(postgres_admin_url())
                self._drops.append(drop)
                _prepare(url)
            self._urls[backend] = url
        return self._urls[backend]

    def sqlite_copy(self, target: Path) -> str:
        """A copy of the SQLite template at `target`: a file copy (0.3 ms; sqlite3's backup took 2.5 ms of CPU and
        14 of waiting), consistent because no connection to the template is open and its WAL was checkpointed
        into it when the last one closed (`url` checks that no WAL file is left)."""
        assert self._template is not None, "the SQLite template is made by url('sqlite', ...) first"
        shutil.copyfile(self._template, target)
        return f"sqlite:///{target}"

    def drop(self) -> None:
        for drop in self._drops:
            drop()


def _prepare(url: str) -> None:
    prepare_database(Settings(database_url=url, org_url=ORG_URL), clock=FixedClock(NOW))
    database = Database(make_engine(url, pool_size=1))
    reset_database(database)  # the state every test starts from, the shared clock frozen at NOW
    if database.engine.dialect.name == "postgresql":
        snapshot_seed(database)
    database.dispose()
