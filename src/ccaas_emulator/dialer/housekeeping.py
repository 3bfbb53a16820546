"""Keeping the tables lean, and their planner statistics fresh, on PostgreSQL.

Every status change leaves a dead row version and dead index entries exactly where the next claim starts
reading; without vacuum a claim soon wades through hundreds of thousands of them. And a table that grows
without ANALYZE keeps the statistics it had when it was empty, so the planner reads it whole where an index
would do: in a soak on a server with autovacuum off, the Web API's `$expand` and `any()` queries scanned the
attribute table 1,880 times in 4 minutes (61 million rows read). Servers usually run autovacuum, but not all
do (test and CI servers often switch it off), so the dialer checks now and then: past a share of dead rows it
vacuums a table, past a share of rows changed since its last analysis it analyzes it, as autovacuum would.
One worker at a time (an advisory lock); neither VACUUM nor ANALYZE blocks readers or writers.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, text

log = logging.getLogger("ccaas_emulator.dialer")
TABLES = (
    "msdyn_proactive_delivery",
    "msdyn_proactive_delivery_attribute",
    "ccaas_delivery_task",
    "emulator_delivery_event",
    "emulator_scripted_outcome",
    "emulator_pacing",
    "emulator_queue",
)
ADVISORY_LOCK = 0x0CCAA5E  # any constant shared by every emulator process


class Housekeeper:
    def __init__(
        self,
        engine: Engine,
        *,
        check_every_seconds: float = 2.0,
        min_dead_rows: int = 5_000,
        min_changed_rows: int = 500,
    ) -> None:
        self._engine = engine
        self._every = check_every_seconds
        self._min_dead = min_dead_rows
        self._min_changed = min_changed_rows
        self._checked = 0.0

    def maybe_maintain(self) -> None:
        """VACUUM (ANALYZE) a table past 20 % dead rows, ANALYZE one past 10 % rows changed since its last
        analysis (autovacuum's default shares), at most once per check interval; PostgreSQL only."""
        if self._engine.dialect.name != "postgresql" or time.monotonic() - self._checked < self._every:
            return
        self._checked = time.monotonic()
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.execute(
                text(
                    "SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables "
                    "WHERE relname = ANY(:names)"
                ),
                {"names": list(TABLES)},
            ).all()
            commands = []
            for name, live, dead, changed in rows:
                if dead > max(self._min_dead, live // 5):
                    commands.append(f'VACUUM (ANALYZE) "{name}"')  # names from TABLES, not input
                elif changed > max(self._min_changed, live // 10):
                    commands.append(f'ANALYZE "{name}"')
            if not commands or not connection.execute(text(f"SELECT pg_try_advisory_lock({ADVISORY_LOCK})")).scalar():
                return
            try:
                for command in commands:
                    started = time.perf_counter()
                    connection.execute(text(command))
                    log.info("%s in %.2f s", command, time.perf_counter() - started)
            finally:
                connection.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_LOCK})"))
