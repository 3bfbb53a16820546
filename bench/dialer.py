"""Dialer throughput and claim latency, each against a baseline measured in the same run.

1. Drive N deliveries (default 100,000) Pending -> terminal, the clock stepped as fast as the dialer
   goes. Baseline: the least any dialer must write, two batched UPDATEs per delivery on the same rows.
2. Time to claim one due delivery with 10,000 and 1,000,000 rows in the table. Baseline: reading one
   row by primary key. The query plan of the claim is printed too.

    .venv/bin/python bench/dialer.py                      # SQLite in a temporary folder
    .venv/bin/python bench/dialer.py --postgres           # a throwaway database on CCAAS_TEST_POSTGRES_URL
    .venv/bin/python bench/dialer.py --deliveries 20000 --claim-rows 10000,100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update

from ccaas_emulator.clock import SharedClock, next_sequence
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import EngagementConfig, ProactiveDelivery
from ccaas_emulator.db.rows import Author, delivery_row
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.dialer import repository
from ccaas_emulator.dialer.runner import Dialer
from ccaas_emulator.domain import Window
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.settings import Settings

CONFIG = uuid.UUID("cbbac510-3e66-ef11-a671-6045bd03d9d8")
TERMINAL = ("Complete", "Expired", "Error", "Cancelled")


def insert_pending(database: Database, count: int, *, chunk: int = 20_000) -> None:
    now = SharedClock(database).now()
    with database.read() as session:
        config = session.get(EngagementConfig, CONFIG)
    author = Author(user_id=uuid.uuid4(), at=now)
    windows = [Window(now, now + timedelta(days=60))]
    for offset in range(0, count, chunk):
        rows = [
            delivery_row(
                delivery_id=uuid.uuid4(),
                config=config,
                to_address=f"+1555{n:07d}",
                contact_id="c",
                windows=windows,
                author=author,
                sequence=next_sequence(),
            )
            for n in range(offset, min(count, offset + chunk))
        ]
        with database.transaction() as session:
            session.execute(insert(ProactiveDelivery), rows)


def terminal_count(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).where(ProactiveDelivery.status.in_(TERMINAL))) or 0


def baseline_writes(database: Database, batch: int) -> float:
    """Rows/s for two batched UPDATEs per row (the floor under any dialer), leaving rows Pending."""
    with database.read() as session:
        ids = list(session.scalars(select(ProactiveDelivery.id)))
    started = time.perf_counter()
    for status in ("InProcess", "Pending"):
        for offset in range(0, len(ids), batch):
            with database.transaction() as session:
                session.execute(update(ProactiveDelivery), [{"id": i, "status": status}
                                                            for i in ids[offset:offset + batch]])  # fmt: skip
    return len(ids) / (time.perf_counter() - started)


def drive(database: Database, settings: Settings, count: int, step: timedelta) -> tuple[float, int]:
    clock = SharedClock(database, refresh_seconds=0)
    dialer = Dialer(database, clock, settings)
    started = time.perf_counter()
    ticks = 0
    while terminal_count(database) < count:
        clock.advance(step)
        dialer.tick()
        ticks += 1
    return count / (time.perf_counter() - started), ticks


def claim_latency(database: Database, samples: int = 50) -> tuple[float, float]:
    """Median seconds to claim one due delivery, and to read one row by primary key."""
    clock = SharedClock(database)
    now = clock.now()
    with database.read() as session:
        config = session.get(EngagementConfig, CONFIG)
        some_id = session.scalar(select(ProactiveDelivery.id).limit(1))
    claims, lookups = [], []
    for _ in range(samples):
        with database.transaction() as session:
            started = time.perf_counter()
            rows = repository.claim_due(session, config=config, now=now, limit=1)
            claims.append(time.perf_counter() - started)
            assert len(rows) == 1
            session.rollback()
        with database.read() as session:
            started = time.perf_counter()
            session.execute(select(ProactiveDelivery.status).where(ProactiveDelivery.id == some_id)).one()
            lookups.append(time.perf_counter() - started)
    return statistics.median(claims), statistics.median(lookups)


def claim_plan(database: Database) -> str:
    with database.read() as session:
        config = session.get(EngagementConfig, CONFIG)
        statement = (
            select(ProactiveDelivery.id)
            .where(ProactiveDelivery.engagement_config_id == str(config.id), ProactiveDelivery.status == "Pending",
                   ProactiveDelivery.window_start_date <= func.now(), ProactiveDelivery.window_end_date > func.now())
            .order_by(*repository._call_order(config.processing_order))
            .limit(1)
        )  # fmt: skip
        compiled = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if session.get_bind().dialect.name == "sqlite" else "EXPLAIN "
        return "\n".join(" ".join(str(c) for c in row) for row in session.execute(text(prefix + compiled)))


def fresh_database(postgres: bool, folder: Path) -> tuple[str, object]:
    if not postgres:
        return f"sqlite:///{folder / 'bench.db'}", None
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.postgres import POSTGRES_URL, create_postgres_database

    return create_postgres_database(POSTGRES_URL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--claim-rows", default="10000,1000000")
    parser.add_argument("--step-seconds", type=float, default=10.0, help="simulated seconds per dialer tick")
    args = parser.parse_args()
    os.environ.setdefault("CCAAS_LOG_LEVEL", "warning")
    with tempfile.TemporaryDirectory() as folder:
        url, drop = fresh_database(args.postgres, Path(folder))
        settings = Settings(database_url=url, clock_speed=0, dialer="off", dialer_batch_size=500)
        try:
            prepare_database(settings)
            database = Database(make_engine(url, pool_size=4))
            with database.transaction() as session:
                session.get(EngagementConfig, CONFIG).max_concurrent_calls = 500
            backend = database.engine.dialect.name
            print(f"# dialer benchmark on {backend}, {args.deliveries:,} deliveries (Copilot, 500 concurrent)")

            insert_pending(database, args.deliveries)
            base = baseline_writes(database, 500)
            rate, ticks = drive(database, settings, args.deliveries, timedelta(seconds=args.step_seconds))
            print(f"baseline  two batched UPDATEs per row: {base:10,.0f} rows/s")
            print(f"dialer    Pending -> terminal:         {rate:10,.0f} deliveries/s  ({ticks} ticks)")
            print(f"ratio     dialer / baseline:           {rate / base:10.2f}")

            with database.transaction() as session:
                session.execute(ProactiveDelivery.__table__.delete())
            loaded = 0
            for target in (int(value) for value in args.claim_rows.split(",")):
                insert_pending(database, target - loaded)
                loaded = target
                if backend == "postgresql":
                    with database.engine.connect() as connection:
                        connection.execute(text("ANALYZE msdyn_proactive_delivery"))
                claim, lookup = claim_latency(database)
                print(f"claim one due delivery at {target:>9,} rows: {claim * 1000:7.2f} ms median; "
                      f"primary-key read {lookup * 1000:6.2f} ms; ratio {claim / lookup:6.1f}")  # fmt: skip
            print("claim query plan:\n" + claim_plan(database))
            database.dispose()
        finally:
            if drop is not None:
                drop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
