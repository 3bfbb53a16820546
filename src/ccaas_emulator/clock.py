"""The one place that reads the time: everything else asks a Clock.

The emulator's clock is simulated and shared: its state is one database row (an anchor in simulated
time, the real time it was set, and a speed), so every API and worker process tells the same time, and
tests can set it or move it forward.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select, update

if TYPE_CHECKING:
    from ccaas_emulator.db.models import ClockState
    from ccaas_emulator.db.transaction import Database

CLOCK_ROW = 1

_sequence_lock = threading.Lock()
_last_sequence = 0


def real_now() -> datetime:
    """This machine's wall-clock time (for leases and the clock's own anchor, never for the domain)."""
    return datetime.now(UTC)


def next_sequence() -> int:
    """A number larger than any this process handed out before: the FIFO order of deliveries created at
    the same simulated instant (the clock may stand still, or be set back, between them).

    Real nanoseconds, so that several API processes roughly agree, bumped by one when the wall clock has
    not moved (or moved back) since the last call, so that within a process the order is strict."""
    global _last_sequence
    with _sequence_lock:
        _last_sequence = max(time.time_ns(), _last_sequence + 1)
        return _last_sequence


class Clock(Protocol):
    """Something that tells the current (simulated) UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """Real wall-clock time."""

    def now(self) -> datetime:
        return real_now()


class FixedClock:
    """A clock that only moves when told to (unit tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


class SharedClock:
    """The simulated clock kept in the emulator_clock row, cached per process for `refresh` seconds."""

    def __init__(self, database: Database, *, refresh_seconds: float = 0.25) -> None:
        self._database = database
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._state: tuple[datetime, datetime, float] | None = None
        self._read_at = 0.0

    @staticmethod
    def ensure(database: Database, *, speed: float | None) -> None:
        """Create the clock row at real time (at `speed`, or 1), or re-anchor it when a speed is given and differs.

        `speed=None` leaves an existing clock alone: only the server's start-up, the control API and
        `ccaas-emulator clock` change the shared clock, never a command such as `token` run in another shell.
        """
        from ccaas_emulator.db.models import ClockState

        with database.transaction() as session:
            state = session.get(ClockState, CLOCK_ROW)
            now = real_now()
            if state is None:
                session.add(
                    ClockState(
                        id=CLOCK_ROW, anchor=now, real_anchor=now, speed=1.0 if speed is None else speed, version=1
                    )
                )
            elif speed is not None:
                _rescale(state, speed, now)

    def now(self) -> datetime:
        anchor, real_anchor, speed = self._current()
        return _project(anchor, real_anchor, speed, real_now())

    @property
    def speed(self) -> float:
        return self._current()[2]

    def set(self, at: datetime) -> datetime:
        """Jump to `at` (either direction); the clock keeps running at its speed from there."""
        from ccaas_emulator.db.models import ClockState

        at = at.astimezone(UTC)
        now = real_now()
        with self._database.transaction() as session:
            session.execute(
                update(ClockState)
                .where(ClockState.id == CLOCK_ROW)
                .values(anchor=at, real_anchor=now, version=ClockState.version + 1)
            )
            speed = session.scalar(select(ClockState.speed).where(ClockState.id == CLOCK_ROW))
        with self._lock:
            self._state, self._read_at = (at, now, float(speed or 0.0)), time.monotonic()
        return at

    def set_speed(self, speed: float) -> float:
        """Run at `speed` from now on (0 stops the clock); the simulated time it has reached is kept."""
        from ccaas_emulator.db.models import ClockState

        now = real_now()
        with self._database.transaction() as session:
            state = session.get(ClockState, CLOCK_ROW, with_for_update=True)
            if state is None:
                state = ClockState(id=CLOCK_ROW, anchor=now, real_anchor=now, speed=speed, version=1)
                session.add(state)
            else:
                _rescale(state, speed, now)
            snapshot = (state.anchor, state.real_anchor, state.speed)
        with self._lock:
            self._state, self._read_at = snapshot, time.monotonic()
        return speed

    def advance(self, by: timedelta) -> datetime:
        return self.set(self.now() + by)

    def forget(self) -> None:
        """Drop the cached clock row: the next read sees the database (after an import replaced the row)."""
        with self._lock:
            self._state = None

    def _current(self) -> tuple[datetime, datetime, float]:
        with self._lock:
            if self._state is not None and time.monotonic() - self._read_at < self._refresh:
                return self._state
        from ccaas_emulator.db.models import ClockState

        with self._database.read() as session:
            row = session.get(ClockState, CLOCK_ROW)
            state = (row.anchor, row.real_anchor, row.speed) if row else (real_now(), real_now(), 1.0)
        with self._lock:
            self._state, self._read_at = state, time.monotonic()
        return state


def _rescale(state: ClockState, speed: float, real: datetime) -> None:
    """Re-anchor the clock row where it has got to and give it a new speed (a no-op when the speed is the same):
    the one rule for a speed change, at start-up (`ensure`) and through the control API (`set_speed`)."""
    if state.speed == speed:
        return
    state.anchor = _project(state.anchor, state.real_anchor, state.speed, real)
    state.real_anchor, state.speed, state.version = real, speed, state.version + 1


def _project(anchor: datetime, real_anchor: datetime, speed: float, real: datetime) -> datetime:
    return anchor + (real - real_anchor) * speed
