"""The dialer's housekeeping on PostgreSQL: a table that grew since its last analysis is analyzed, and a
table with many dead rows is vacuumed, when the server's autovacuum does not (it is off on this machine's
server, and on many CI servers)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text, update

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.dialer.housekeeping import Housekeeper
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.settings import Settings
from tests.support.bulk import insert_deliveries
from tests.support.postgres import create_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres_admin_url):
    url, drop = create_postgres_database(postgres_admin_url)
    prepare_database(Settings(database_url=url))
    database = Database(make_engine(url, pool_size=2))
    with database.engine.connect() as connection:  # whatever the server does, this database has no autovacuum
        for table in ("msdyn_proactive_delivery", "msdyn_proactive_delivery_attribute"):
            connection.execute(text(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)'))
        connection.commit()
    yield database
    database.dispose()
    drop()


def statistics(database: Database, table: str) -> tuple[int, int, object, object]:
    """(rows changed since the last analysis, dead rows, last analysis, last vacuum), once the server has
    published the counters of the transactions before (they are flushed asynchronously)."""
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = connection.execute(
            text(
                "SELECT n_mod_since_analyze, n_dead_tup, last_analyze, last_vacuum FROM pg_stat_user_tables "
                "WHERE relname = :table"
            ),
            {"table": table},
        ).one()
    return row[0], row[1], row[2], row[3]


def wait_for(database: Database, table: str, condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not condition(found := statistics(database, table)):
        assert time.monotonic() < deadline, found
        time.sleep(0.2)
    return found


def test_a_grown_table_is_analyzed_and_a_bloated_one_vacuumed(database):
    insert_deliveries(database, 2000)
    wait_for(database, "msdyn_proactive_delivery", lambda found: found[0] >= 2000)
    housekeeper = Housekeeper(database.engine, check_every_seconds=0, min_changed_rows=500, min_dead_rows=500)

    housekeeper.maybe_maintain()

    changed, _, analyzed, _ = statistics(database, "msdyn_proactive_delivery")
    assert analyzed is not None and changed == 0
    with database.engine.connect() as connection:
        estimate = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = 'msdyn_proactive_delivery'")
        ).scalar()
    assert estimate == 2000  # the planner now knows the table's size

    with database.transaction() as session:  # every row rewritten: 2,000 dead versions
        session.execute(update(ProactiveDelivery).values(version=ProactiveDelivery.version + 1))
    wait_for(database, "msdyn_proactive_delivery", lambda found: found[1] >= 2000)

    housekeeper.maybe_maintain()

    _, dead, _, vacuumed = statistics(database, "msdyn_proactive_delivery")
    assert vacuumed is not None and dead == 0


def test_a_table_that_barely_changed_is_left_alone(database):
    insert_deliveries(database, 100)
    wait_for(database, "msdyn_proactive_delivery", lambda found: found[0] >= 100)

    Housekeeper(database.engine, check_every_seconds=0, min_changed_rows=500).maybe_maintain()

    changed, _, analyzed, _ = statistics(database, "msdyn_proactive_delivery")
    assert analyzed is None and changed >= 100
