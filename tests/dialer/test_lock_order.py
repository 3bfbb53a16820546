"""The dialer never waits for its tick lock while a $batch change set holds the write lock (issue #12, item 1).

The red-team probe froze SQLite writes for good: a change set held the write lock while a clock part waited for
the tick lock, and the dialer's own tick held the tick lock while it waited for the write lock. $batch parts can no
longer reach the clock (tests/odata/test_batch.py); this pins the lock order itself (db/transaction.py, Database).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from ccaas_emulator.dialer.runner import LockOrderError


def test_a_clock_advance_inside_a_change_set_is_refused_instead_of_freezing(emulator):
    runtime = emulator.client.app.state.runtime
    emulator.post()  # due now: a tick has work, so it takes a write transaction
    target = runtime.clock.now() + timedelta(hours=1)
    outcome: list[BaseException | None] = []
    tickers: list[threading.Thread] = []

    async def change_set_then_advance() -> None:
        async with runtime.database.shared_transaction():
            # The dialer's own tick, on another thread, takes the tick lock and then waits for the write lock,
            # which this change set holds (on SQLite): the other half of the probe's freeze.
            ticker = threading.Thread(target=runtime.dialer.tick, daemon=True)
            ticker.start()
            tickers.append(ticker)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(runtime.dialer.advance_to, target)

    def run() -> None:
        try:
            asyncio.run(change_set_then_advance())
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(timeout=60)  # a freeze would never end; this only bounds how long the test waits to say so

    assert not runner.is_alive(), "the change set and the dialer deadlocked"
    assert len(outcome) == 1 and isinstance(outcome[0], LockOrderError), outcome
    for ticker in tickers:  # the change set is over, so the dialer's tick gets the write lock and finishes
        ticker.join(timeout=60)
        assert not ticker.is_alive()


def test_a_tick_inside_a_change_set_is_refused(emulator):
    runtime = emulator.client.app.state.runtime

    async def inside() -> None:
        async with runtime.database.shared_transaction():
            await asyncio.to_thread(runtime.dialer.tick)

    with pytest.raises(LockOrderError):
        asyncio.run(inside())


def test_outside_a_change_set_the_dialer_runs_as_before(emulator):
    runtime = emulator.client.app.state.runtime
    delivery_id = emulator.post()

    report = runtime.dialer.advance_to(runtime.clock.now() + timedelta(hours=1))

    assert report.to_json()["dialled"] >= 1, report.to_json()
    assert emulator.delivery(delivery_id).status != "Pending"
