"""Dialer throughput and claim latency, each against a baseline measured in the same run.

1. Drive N deliveries (default 100,000) Pending -> terminal, the clock stepped as fast as the dialer
   goes. Baseline: the least any dialer must write, two batched UPDATEs per delivery on the same rows.
2. The same number of dials made by delivery tasks: chains of 5 contacts, every dial NoAnswer, one retry
   (so each task dials 10 times, the next dial scheduled as each ends). Baseline: step 1's deliveries/s.
3. Time to claim one due delivery with 10,000 and 1,000,000 rows in the table. Baseline: reading one
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

from ccaas_emulator.chain import Chain, ChainContact, ChainSettings, ordered_phones
from ccaas_emulator.clock import SharedClock, next_sequence
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import DeliveryTask, EngagementConfig, ProactiveDelivery
from ccaas_emulator.db.rows import Author, delivery_row
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.dialer import repository
from ccaas_emulator.dialer.runner import Dialer
from ccaas_emulator.domain import Channel, DeliveryStatus, PhoneType, ReattemptReason, Window
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


NO_ANSWER = "+15005550002"  # the magic number that always rings out (30 s)
CHAIN_SETTINGS = ChainSettings(reasons=frozenset({ReattemptReason.NO_ANSWER}), retries=1)


def insert_tasks(database: Database, count: int, *, contacts: int = 5, chunk: int = 2_000) -> None:
    """Delivery tasks as CCaaS_CreateProactiveDelivery writes them: the chain, and its first dial Pending."""
    now = SharedClock(database).now()
    with database.read() as session:
        config = session.get(EngagementConfig, CONFIG)
    author = Author(user_id=uuid.uuid4(), at=now)
    windows = (Window(now, now + timedelta(days=60)),)
    for offset in range(0, count, chunk):
        tasks, deliveries = [], []
        for _ in range(offset, min(count, offset + chunk)):
            task_id = uuid.uuid4()
            chain = Chain(tuple(
                ChainContact(str(uuid.uuid4()), f"ext-{n}", ordered_phones([(PhoneType.MOBILE, NO_ANSWER)],
                             CHAIN_SETTINGS.phone_order), windows)
                for n in range(contacts)
            ))  # fmt: skip
            tasks.append({"id": task_id, "engagement_config_id": CONFIG, "channel": Channel.VOICE,
                          "status": DeliveryStatus.PENDING, "contacts": chain, "windows": [],
                          "settings": CHAIN_SETTINGS, "expiration_date": chain.expiration, "created_on": now,
                          "modified_on": now})  # fmt: skip
            first = chain.contacts[0]
            deliveries.append(delivery_row(delivery_id=uuid.uuid4(), config=config, to_address=NO_ANSWER,
                                           contact_id=first.contact_id, windows=list(windows), author=author,
                                           sequence=next_sequence(), task_id=task_id))  # fmt: skip
        with database.transaction() as session:
            session.execute(insert(DeliveryTask), tasks)
            session.execute(insert(ProactiveDelivery), deliveries)


def open_tasks(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).where(DeliveryTask.status == "Pending")) or 0


def drive_tasks(database: Database, settings: Settings, step: timedelta) -> tuple[float, int, int]:
    """Dials/s until every task has ended; returns (dials/s, dials, ticks)."""
    clock = SharedClock(database, refresh_seconds=0)
    dialer = Dialer(database, clock, settings)
    started = time.perf_counter()
    ticks = 0
    while open_tasks(database):
        clock.advance(step)
        dialer.tick()
        ticks += 1
    elapsed = time.perf_counter() - started
    with database.read() as session:
        dials = session.scalar(select(func.count()).where(ProactiveDelivery.task_id.is_not(None))) or 0
    return dials / elapsed, dials, ticks


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
            insert_tasks(database, max(1, args.deliveries // 10))
            chained, dials, chain_ticks = drive_tasks(database, settings, timedelta(seconds=args.step_seconds))
            print(f"chains    5 contacts x 2 loops, NoAnswer: {chained:10,.0f} dials/s  ({dials:,} dials, "
                  f"{chain_ticks} ticks)")  # fmt: skip
            print(f"ratio     chain dials / deliveries:    {chained / rate:10.2f}")

            with database.transaction() as session:
                session.execute(ProactiveDelivery.__table__.delete())
                session.execute(DeliveryTask.__table__.delete())
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
