"""Migration 0005 on a database of the previous revision: the time zone list arrives whole, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from ccaas_emulator import timezones
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.migrate import upgrade_to, upgrade_to_head
from ccaas_emulator.db.models import TimeZoneDefinition
from ccaas_emulator.db.transaction import Database
from tests.support.postgres import create_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    created, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    yield created
    drop()


def test_the_time_zone_list_is_filled_from_the_data_file(url):
    engine = create_engine(url)
    upgrade_to(engine, "0004")
    assert "timezonedefinition" not in inspect(engine).get_table_names()
    engine.dispose()

    upgrade_to_head(make_engine(url))

    database = Database(make_engine(url))
    with database.read() as session:
        rows = session.scalars(select(TimeZoneDefinition).order_by(TimeZoneDefinition.code)).all()
    database.dispose()
    assert [(row.id, row.code, row.standard_name, row.display_name, row.bias) for row in rows] == [
        (d.id, d.code, d.standard_name, d.display_name, d.bias) for d in timezones.definitions()
    ]
    assert {(row.retired_order, row.version) for row in rows} == {(0, 1)}
