"""Keeping the delivery table lean on PostgreSQL.

Every status change leaves a dead row version and dead index entries exactly where the next claim starts
reading; without vacuum a claim soon wades through hundreds of thousands of them. Servers usually run
autovacuum, but not all do (test and CI servers often switch it off), so the dialer checks the table's
dead rows now and then and, past a threshold, vacuums it. One worker at a time (an advisory lock); a
plain VACUUM blocks neither readers nor writers.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, text

log = logging.getLogger("ccaas_emulator.dialer")
TABLES = ("msdyn_proactive_delivery", "emulator_scripted_outcome", "emulator_pacing", "emulator_queue")
ADVISORY_LOCK = 0x0CCAA5E  # any constant shared by every emulator process


class Housekeeper:
    def __init__(self, engine: Engine, *, check_every_seconds: float = 2.0, min_dead_rows: int = 5_000) -> None:
        self._engine = engine
        self._every = check_every_seconds
        self._min_dead = min_dead_rows
        self._checked = 0.0

    def maybe_vacuum(self) -> None:
        if self._engine.dialect.name != "postgresql" or time.monotonic() - self._checked < self._every:
            return
        self._checked = time.monotonic()
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.execute(
                text("SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
                {"names": list(TABLES)},
            ).all()
            bloated = [name for name, live, dead in rows if dead > max(self._min_dead, live // 5)]
            if not bloated or not connection.execute(text(f"SELECT pg_try_advisory_lock({ADVISORY_LOCK})")).scalar():
                return
            try:
                for name in bloated:
                    started = time.perf_counter()
                    connection.execute(text(f'VACUUM (ANALYZE) "{name}"'))  # names from TABLES, not input
                    log.info("vacuumed %s in %.2f s", name, time.perf_counter() - started)
            finally:
                connection.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_LOCK})"))
