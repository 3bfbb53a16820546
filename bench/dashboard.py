"""The dashboard's snapshot (GET /emulator/v1/dashboard) over 100,000 deliveries, against a baseline.

The snapshot's statements are read in process (dashboard/queries.snapshot), over a database filled with ROWS
deliveries (tests/support/bulk.py; 60 % of them given a result). Baseline, in the same run: one `SELECT count(*)`
of the deliveries, the least a statement that looks at every row costs. Each is run REPEAT times after a warm-up;
the median is printed, and the snapshot's as a ratio of the baseline's.

    .venv/bin/python bench/dashboard.py                   # SQLite in a temporary folder
    .venv/bin/python bench/dashboard.py --postgres        # a throwaway database on CCAAS_TEST_POSTGRES_URL
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.bulk import START, fill_deliveries

from ccaas_emulator.dashboard import queries
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.settings import Settings


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    drop: Callable[[], None] | None = None
    folder = tempfile.TemporaryDirectory()
    if args.postgres:
        from tests.support.postgres import POSTGRES_URL, create_postgres_database

        url, drop = create_postgres_database(POSTGRES_URL)
    else:
        url = f"sqlite:///{Path(folder.name) / 'bench.db'}"
    try:
        prepare_database(Settings(database_url=url, demo_seed=True, clock_speed=0))
        engine = make_engine(url)
        fill_deliveries(engine, args.rows)
        with engine.begin() as connection:
            connection.execute(text("UPDATE msdyn_proactive_delivery SET msdyn_result = 'LiveAnswer', "
                                    "msdyn_result_date = modifiedon WHERE msdyn_status = 'Complete'"))  # fmt: skip
            if not args.postgres:
                connection.execute(text("ANALYZE"))
        # What autovacuum does soon after a load: the visibility map lets index-only scans skip the heap.
        if args.postgres:
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        database = Database(engine)
        now = START + timedelta(seconds=args.rows)

        def snapshot() -> object:
            with database.read() as session:
                return queries.snapshot(session, now=now, limit=queries.DEFAULT_DELIVERIES)

        def baseline() -> object:
            with database.read() as session:
                return session.scalar(select(func.count()).select_from(ProactiveDelivery))

        taken, base = median_ms(snapshot, args.repeat), median_ms(baseline, args.repeat)
        name = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{name}, {args.rows:,} deliveries: snapshot {taken:.1f} ms, count(*) {base:.1f} ms, "
              f"ratio {taken / base:.1f}")  # fmt: skip
        database.dispose()
    finally:
        if drop is not None:
            drop()
        folder.cleanup()


if __name__ == "__main__":
    main()
