"""`$filter` + `$top` is answered from an index on both back ends (issue #5), once the table is analyzed.

The statements are the ones the Web API builds (odata.query.page_statement), run under EXPLAIN. ROWS is
just enough for the planners to prefer the indexes after ANALYZE (PostgreSQL needs about 1,000; SQLite a
few hundred), with a tenfold margin; the read side's timings over a million rows are bench/read_side.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.migrate import upgrade_to_head
from ccaas_emulator.odata.entity_sets import DELIVERIES
from ccaas_emulator.odata.options import OrderBy
from ccaas_emulator.odata.paging import sort_keys
from ccaas_emulator.odata.query import filter_condition, page_statement
from tests.support.bulk import fill_deliveries
from tests.support.database import BACKENDS
from tests.support.postgres import create_postgres_database

ROWS = 10_000


@pytest.fixture(scope="module", params=BACKENDS)
def analyzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of its own (the per-test reset would empty a shared one row by row)."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'ccaas.db'}", None
    else:
        url, drop = create_postgres_database(request.getfixturevalue("postgres_admin_url"))
    engine = make_engine(url, pool_size=2)
    upgrade_to_head(engine)
    fill_deliveries(engine, ROWS)
    yield engine
    engine.dispose()
    if drop is not None:
        drop()
    elif url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


@contextmanager
def explained(engine: Engine) -> Iterator[None]:
    """Every statement the engine runs inside the block is run under EXPLAIN instead."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def explain(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> Any:
        return prefix + statement, parameters

    event.listen(engine, "before_cursor_execute", explain, retval=True)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", explain)


def plan_of(engine: Engine, filter_text: str, *, top: int = 50, orderby: tuple[OrderBy, ...] = ()) -> str:
    statement = page_statement(
        entity_set=DELIVERIES,
        condition=filter_condition(DELIVERIES, filter_text, {}),
        keys=sort_keys(DELIVERIES, DELIVERIES.table, orderby),
        cursor=None,
        size=top,
    )
    with engine.connect() as connection, explained(engine):
        rows = connection.execute(statement).all()
    return "\n".join(" ".join(str(part) for part in row) for row in rows)


def assert_uses(plan: str, index: str) -> None:
    print(plan)  # shown with -s: the plan is the evidence
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "SCAN msdyn_proactive_delivery\n" not in plan + "\n", plan  # SQLite's word for a full table scan


def test_filter_on_status_with_top_reads_the_status_index(analyzed):
    assert_uses(plan_of(analyzed, "msdyn_status eq 'Complete'"), "ix_delivery_odata_status")


def test_filter_on_the_configuration_with_top_reads_the_configuration_index(analyzed):
    assert_uses(
        plan_of(analyzed, "msdyn_proactive_engagement_config_id eq 'cbbac510-3e66-ef11-a671-6045bd03d9d8'"),
        "ix_delivery_odata_config",
    )


def test_filter_on_the_number_called_reads_its_index(analyzed):
    assert_uses(plan_of(analyzed, "msdyn_to_address eq '+15550001234'"), "ix_delivery_odata_to_address")


def test_filter_on_createdon_with_top_reads_the_createdon_index(analyzed):
    plan = plan_of(
        analyzed,
        "createdon ge 2026-01-01T01:00:00Z and createdon lt 2026-01-01T01:30:00Z",
        orderby=(OrderBy("createdon", descending=True),),
    )
    assert_uses(plan, "ix_msdyn_proactive_delivery_createdon")


def test_the_pages_are_what_the_filter_says(analyzed):
    # The generator's rows: every 10th row from i = 6 is Pending; the first pages prove the plan's result.
    with analyzed.connect() as connection:
        rows = (
            connection.execute(
                page_statement(
                    entity_set=DELIVERIES,
                    condition=filter_condition(DELIVERIES, "msdyn_status eq 'pending'", {}),
                    keys=sort_keys(DELIVERIES, DELIVERIES.table, ()),
                    cursor=None,
                    size=50,
                )
            )
            .mappings()
            .all()
        )
    assert len(rows) == 51
    assert {row["msdyn_status"] for row in rows} == {"Pending"}
    ids = [str(row["msdyn_proactive_deliveryid"]) for row in rows]
    assert ids == sorted(ids)
