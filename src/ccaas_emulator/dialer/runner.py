"""Running the dispatcher: in a background loop on the clock, or all at once when time is advanced."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from ccaas_emulator import journal
from ccaas_emulator.clock import SharedClock
from ccaas_emulator.db.engine import database_trouble, error_summary
from ccaas_emulator.db.transaction import Database, in_shared_transaction
from ccaas_emulator.dialer import repository
from ccaas_emulator.dialer.dispatcher import Dispatcher, TickReport
from ccaas_emulator.dialer.housekeeping import Housekeeper
from ccaas_emulator.dialer.outcomes import SENDABLE_RESULTS, CallSimulator, MessageSimulator, parse_weights
from ccaas_emulator.settings import Settings

log = logging.getLogger("ccaas_emulator.dialer")
MAX_STEPS = 1_000_000
MAX_BACKOFF_SECONDS = 30.0
ADVANCE_TRANSACTION_SECONDS = 0.1
"""How long one write transaction of time travel works before it commits: on SQLite, the longest an action's commit
waits behind an advance (one event time's work is never split, so a transaction may run over by one step)."""
POSTGRES_TRANSACTION_FACTOR = 10
"""On PostgreSQL, an advance's transactions last this many times longer: nothing waits for them but another worker
dispatching the same queue and a change to a delivery the advance holds (row locks), and each transaction costs
its look-ups again, a round trip each."""


@dataclass(frozen=True)
class AdvanceProgress:
    """Where an advance is, after one of its transactions committed."""

    start: datetime
    reached: datetime
    target: datetime
    steps: int
    """Event times processed so far."""
    report: TickReport

    @property
    def fraction(self) -> float:
        total = (self.target - self.start).total_seconds()
        return 1.0 if total <= 0 else min(1.0, (self.reached - self.start).total_seconds() / total)


ProgressCallback = Callable[[AdvanceProgress], None]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LockOrderError(RuntimeError):
    """The dialer was asked to run where it could deadlock: inside a shared transaction."""


def _outside_shared_transactions() -> None:
    # A shared transaction holds the write lock, which comes after the tick lock: waiting for the tick lock
    # there could wait forever on a tick that waits for the write lock (the $batch + clock freeze, issue #12).
    if in_shared_transaction():
        raise LockOrderError("the dialer cannot run inside a shared transaction ($batch change set)")


class Dialer:
    """The dispatcher, the clock it runs on, and a lock so this process never runs two ticks at once."""

    def __init__(self, database: Database, clock: SharedClock, settings: Settings) -> None:
        self.clock = clock
        self.dispatcher = Dispatcher(
            database,
            CallSimulator(seed=settings.outcome_seed, weights=parse_weights(settings.outcome_weights)),
            worker=worker_name(),
            lease_seconds=settings.dialer_lease_seconds,
            batch_size=settings.dialer_batch_size,
            messages=MessageSimulator(
                seed=settings.outcome_seed,
                weights=parse_weights(settings.sms_outcome_weights, allowed=SENDABLE_RESULTS, what="an SMS"),
            ),
        )
        self._database = database
        self.housekeeper = Housekeeper(database.engine)
        self._poll = settings.dialer_poll_seconds
        self._tick_lock = threading.Lock()  # first in the process's lock order: db/transaction.py, Database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reached: datetime | None = None
        """The simulated time this dialer has run every event up to (None: it has not run yet)."""

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No tick or clock advance of this process runs inside the block (a state import replacing every row)."""
        _outside_shared_transactions()
        with self._tick_lock:
            yield

    def tick(self) -> TickReport:
        _outside_shared_transactions()
        with self._tick_lock:
            return self._tick_at(self.clock.now())

    def _tick_at(self, now: datetime) -> TickReport:
        """One tick at `now`, under the tick lock: the dialer has then run every event up to `now`."""
        report = self.dispatcher.tick(now)
        self._reached = now
        self.housekeeper.maybe_maintain()
        return report

    def catch_up(self) -> TickReport:
        """The background loop's step: every event since the last step, each at its own time (the clock running
        ahead of the dialer, when its speed is above 1 or the process was busy), then a tick at the clock's time.

        With nothing in between (or on the first step, or after the clock was set back), it is the tick at the
        clock's time alone; otherwise the events in between run through time travel's loop, without moving the
        clock, each worker ending only its own calls (and those of workers whose lease ran out), and dialling at
        each moment only the deliveries posted by then; for one transaction's time at most, the rest at the clock's
        time as before (a clock too fast to follow event by event)."""
        _outside_shared_transactions()
        with self._tick_lock:
            now, since = self.clock.now(), self._reached
            if since is not None and since < now:
                with self._database.read() as session:
                    upcoming = repository.next_event_after(session, moment=since)
                if upcoming is not None and upcoming < now:
                    report = self._simulate(since, now, catching_up=True)
                    self._reached = now
                    return report
            return self._tick_at(now)

    def advance_to(self, target: datetime, *, progress: ProgressCallback | None = None) -> TickReport:
        """Move the clock to `target`, running every event on the way (window openings and closings, dials, call
        ends, chain steps), in time order: a discrete-event simulation.

        Each event time is what one tick at that moment does, but many event times share one write transaction
        (and its look-ups, and the search for the next event time): a transaction ends after
        ADVANCE_TRANSACTION_SECONDS of work, so on SQLite the actions' commits wait at most that long, and the
        clock is written once per transaction (the time reached), so readers see it move as the work commits.
        `progress` hears after each transaction where the advance is.
        """
        _outside_shared_transactions()
        with self._tick_lock:
            report = self._simulate(self.clock.now(), target, catching_up=False, progress=progress)
            self._reached = target
        return report

    def _simulate(
        self, start: datetime, target: datetime, *, catching_up: bool, progress: ProgressCallback | None = None
    ) -> TickReport:
        """The events from `start` to `target` in time order (advance_to, catch_up), under the tick lock.

        An advance ticks at `start` first, takes over every call and moves the clock; catching up starts with the
        first event after `start` (the last step ticked there), ends only this worker's calls (ticks' lease rule),
        dials at each moment only deliveries posted by then, leaves the clock alone, and takes one transaction at
        most (ADVANCE_TRANSACTION_SECONDS) before it ticks at `target` for whatever is left."""
        report = TickReport()
        moment, steps, finished = start, 0, False
        due: repository.DueWork | None = None  # what is due at `moment`, when known
        take_over_all, posted_by = not catching_up, None
        while not finished:
            deadline = time.monotonic() + self._transaction_seconds(catching_up)
            with (
                self._database.joined_transaction() as session,
                self.dispatcher.lookups_kept(),
                journal.held(session),
            ):
                if not catching_up and self._database.engine.dialect.name == "postgresql":
                    self.dispatcher.lock_queues_first()
                if catching_up and steps == 0:
                    upcoming = repository.next_event_and_due(session, moment=moment)
                    if upcoming.at is None or upcoming.at > target or upcoming.at <= moment:
                        finished = True  # nothing of this worker's to run before `target`: the closing tick
                    else:
                        moment, due = upcoming.at, None
                while not finished:
                    if catching_up:
                        posted_by = moment
                    report.add(self.dispatcher.tick(moment, take_over_all=take_over_all, due=due, posted_by=posted_by))
                    steps += 1
                    upcoming = repository.next_event_and_due(session, moment=moment)
                    # Until the next window opens or closes, with nobody waiting inside a window, only calls end:
                    # a run of them in one claim instead of a tick each (every worker's calls: time travel only).
                    while (
                        take_over_all
                        and upcoming.calls_only
                        and upcoming.at is not None
                        and moment < upcoming.at <= target
                        and time.monotonic() < deadline
                    ):
                        horizon = target + timedelta(microseconds=1)
                        if upcoming.quiet_until is not None:
                            horizon = min(horizon, upcoming.quiet_until)
                        ends = self.dispatcher.end_calls_before(horizon)
                        if ends.last is not None:
                            report.add(ends.report)
                            steps += ends.moments
                            moment = ends.last
                            upcoming = repository.next_event_and_due(session, moment=moment)
                        if ends.last is None or ends.at_task_call:
                            break
                    due = upcoming.due
                    if upcoming.at is None or upcoming.at > target or steps >= MAX_STEPS:
                        finished = True
                        break
                    if upcoming.at <= moment:
                        if catching_up:
                            # Another worker's call, due but not ended yet (it ends its own calls, on its own step):
                            # the rest at `target`, in the closing tick.
                            finished = True
                            break
                        # A call already due but held by a running transaction elsewhere: look again a moment later.
                        moment, due = moment + timedelta(milliseconds=1), None
                    else:
                        moment = upcoming.at
                    if time.monotonic() >= deadline:
                        # Catching up takes one transaction's work at most, the rest at `target` in the closing
                        # tick, as a step did before: a clock faster than the dialer can follow event by event
                        # (hundreds of calls ending per simulated second at speed 600) is never caught up with.
                        finished = catching_up
                        due = None  # the next transaction reads it again: others may have written in between
                        break
                if finished and moment < target:
                    moment = target
                    report.add(self.dispatcher.tick(target, take_over_all=take_over_all))
                if not catching_up:
                    self.clock.set(moment)
            self.housekeeper.maybe_maintain()
            if progress is not None:
                progress(AdvanceProgress(start=start, reached=moment, target=target, steps=steps, report=report))
        return report

    def _transaction_seconds(self, catching_up: bool) -> float:
        """An advance's transactions last longer on PostgreSQL; a catch-up's never (other workers poll too)."""
        postgres = self._database.engine.dialect.name == "postgresql"
        return ADVANCE_TRANSACTION_SECONDS * (POSTGRES_TRANSACTION_FACTOR if postgres and not catching_up else 1)

    def advance_stepwise(self, target: datetime, *, progress: ProgressCallback | None = None) -> TickReport:
        """The advance as it was before issue #17: one full tick per event time, each with its own transactions
        and a clock write. Kept as the reference the journal test and bench/timetravel.py compare with."""
        _outside_shared_transactions()
        report = TickReport()
        with self._tick_lock:
            start = moment = self.clock.now()
            steps = 0
            while steps < MAX_STEPS:
                steps += 1
                report.add(self.dispatcher.tick(moment, take_over_all=True))
                self.housekeeper.maybe_maintain()
                with self._database.read() as session:
                    upcoming = repository.next_event_after(session, moment=moment)
                if upcoming is None or upcoming > target:
                    break
                moment = max(upcoming, moment + timedelta(milliseconds=1))
                self.clock.set(moment)
            if moment < target:
                self.clock.set(target)
                report.add(self.dispatcher.tick(target, take_over_all=True))
        if progress is not None:
            progress(
                AdvanceProgress(start=start, reached=max(moment, target), target=target, steps=steps, report=report)
            )
        return report

    # --- background loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Tick on the clock until stop() is called; a tick in progress always finishes (graceful drain).

        A failing tick never ends the loop: it waits twice as long after each failure in a row (up to
        MAX_BACKOFF_SECONDS) and logs one line when a streak of failures starts and one when it ends. While the
        database was down it used to log a full traceback every poll (41 KB/s in the probe, issue 12).
        """
        log.info("dialer %s started", self.dispatcher.worker)
        failures, first_failure = 0, 0.0
        while not self._stop.is_set():
            try:
                report = self.catch_up()
            except Exception as exc:
                if failures == 0:
                    first_failure = time.monotonic()
                    if database_trouble(exc) is None:  # a bug: its traceback, once per streak
                        log.exception("dialer tick failed; retrying with back-off until it succeeds")
                    else:
                        log.warning(
                            "dialer tick failed, the database is in trouble (%s); retrying with back-off",
                            error_summary(exc),
                        )
                failures += 1
                self._stop.wait(self.backoff(failures))
                continue
            if failures:
                log.warning(
                    "dialer recovered after %d failed ticks in %.1f s", failures, time.monotonic() - first_failure
                )
                failures = 0
            if not report.changed:
                self._stop.wait(self._poll)
        log.info("dialer %s stopped", self.dispatcher.worker)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failed ticks in a row: the poll interval, doubled per failure, capped."""
        return float(min(self._poll * 2 ** min(failures - 1, 20), MAX_BACKOFF_SECONDS))

    def start_in_background(self) -> None:
        self._thread = threading.Thread(target=self.run, name="ccaas-dialer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
