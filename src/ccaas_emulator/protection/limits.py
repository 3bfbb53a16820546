"""Service protection limits per user, as Dataverse enforces them (wire-facts E13), with no HTTP in them.

Three limits per user, each web server counting on its own (here: each API process):
- requests: at most `requests` in a sliding window of `window_seconds` (6,000 per 300 s);
- execution time: at most `execution_ms` of combined execution time in the same window (1,200,000 ms);
- concurrency: at most `concurrent` requests in flight at once (52).

The concurrency limit refuses at once; the other two refuse once the window already holds the limit, until enough
of it has slid out (the answer's Retry-After says when). Refused requests are not counted.

Bookkeeping is per second: each user keeps a queue of (second, requests, milliseconds) buckets and running totals,
so admitting a request is O(1) amortised (buckets leave the queue once each) and a user's memory is bounded by the
window's seconds. Users with nothing left in their window are swept out once per window.

Time is real time from an injected clock (tests pass a fake one): the simulated clock users move would let a
client reset its own limits.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

from ccaas_emulator.clock import Clock
from ccaas_emulator.settings import Settings


@dataclass(frozen=True)
class Limits:
    requests: int
    window_seconds: int
    execution_ms: int
    concurrent: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """CCAAS_LIMIT_REQUESTS, _WINDOW_SECONDS, _EXECUTION_MS and _CONCURRENT."""
        return cls(
            settings.limit_requests, settings.limit_window_seconds, settings.limit_execution_ms,
            settings.limit_concurrent,
        )  # fmt: skip


class Exceeded(Enum):
    """Which limit refused a request."""

    REQUESTS = "requests"
    EXECUTION_TIME = "execution time"
    CONCURRENCY = "concurrency"


@dataclass(frozen=True)
class Refusal:
    limit: Exceeded
    retry_after: int
    """Whole seconds until the window admits this user's next request (at least 1)."""


CONCURRENCY_RETRY_AFTER = 1
"""Ours: a slot frees as soon as one of the user's requests ends, which no window predicts."""


class _Window:
    """One user's buckets, totals and requests in flight."""

    __slots__ = ("blocked", "blocked_until", "buckets", "executing", "milliseconds", "requests")

    def __init__(self) -> None:
        self.buckets: deque[list[float]] = deque()  # [second, requests, milliseconds]
        self.requests = 0
        self.milliseconds = 0.0
        self.executing = 0
        # The limit that refused the last request, until when: later requests are refused without re-walking the
        # buckets until that moment.
        self.blocked: Exceeded | None = None
        self.blocked_until = 0.0

    def slide(self, second: int, window: int) -> None:
        buckets = self.buckets
        while buckets and buckets[0][0] <= second - window:
            _, requests, milliseconds = buckets.popleft()
            self.requests -= int(requests)
            self.milliseconds -= milliseconds
        if not buckets:
            self.requests, self.milliseconds = 0, 0.0  # no float residue once the window is empty

    def bucket(self, second: int) -> list[float]:
        if self.buckets and self.buckets[-1][0] == second:
            return self.buckets[-1]
        bucket = [float(second), 0.0, 0.0]
        self.buckets.append(bucket)
        return bucket

    def admits_at(self, index: int, limit: float, now: float, window: int) -> float:
        """The moment the total of column `index` drops below `limit` as the oldest buckets slide out."""
        total = self.requests if index == 1 else self.milliseconds
        for bucket in self.buckets:
            total -= bucket[index]
            if total < limit:
                return bucket[0] + window
        return now + window  # not reached: only a bucket of this very second is over the limit on its own


@dataclass
class Ticket:
    """An admitted request: charged its execution time when it answers, released when it ends."""

    user: str
    started: float
    window: _Window
    charged: bool = False
    released: bool = False


@dataclass(frozen=True)
class Remaining:
    requests: int
    seconds: float


class ServiceProtection:
    """The limits of one API process (Dataverse counts per web server); not thread-safe: the event loop calls it."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._users: dict[str, _Window] = {}
        self._next_sweep = 0.0

    def now(self) -> float:
        return self._clock.now().timestamp()

    def admit(self, user: str) -> Ticket | Refusal:
        """Count a request of `user`, or say which limit refuses it and for how long."""
        now = self.now()
        if now >= self._next_sweep:
            self._sweep(now)
        window = self._users.get(user)
        if window is None:
            window = self._users[user] = _Window()
        limits = self.limits
        second = int(now)
        window.slide(second, limits.window_seconds)
        if window.executing >= limits.concurrent:
            return Refusal(Exceeded.CONCURRENCY, CONCURRENCY_RETRY_AFTER)
        refusal = self._over_window(window, now)
        if refusal is not None:
            return refusal
        window.bucket(second)[1] += 1
        window.requests += 1
        window.executing += 1
        return Ticket(user, now, window)

    def charge(self, ticket: Ticket) -> None:
        """Add the request's execution time so far (arrival to answer) to its user's window; once."""
        if ticket.charged:
            return
        ticket.charged = True
        now = self.now()
        milliseconds = max(0.0, now - ticket.started) * 1000
        window = ticket.window
        window.slide(int(now), self.limits.window_seconds)
        window.bucket(int(now))[2] += milliseconds
        window.milliseconds += milliseconds

    def release(self, ticket: Ticket) -> None:
        """The request ended (answered or not): it no longer counts as concurrent."""
        self.charge(ticket)
        if not ticket.released:
            ticket.released = True
            ticket.window.executing -= 1

    def remaining(self, ticket: Ticket) -> Remaining:
        """What the user has left in the window (the x-ms-ratelimit-* headers)."""
        window, limits = ticket.window, self.limits
        return Remaining(
            requests=max(0, limits.requests - window.requests),
            seconds=max(0.0, limits.execution_ms - window.milliseconds) / 1000,
        )

    def remaining_for(self, user: str) -> Remaining:
        """What `user` has left now (a user with no window has it all)."""
        window = self._users.get(user)
        limits = self.limits
        if window is None:
            return Remaining(limits.requests, limits.execution_ms / 1000)
        window.slide(int(self.now()), limits.window_seconds)
        return Remaining(
            max(0, limits.requests - window.requests), max(0.0, limits.execution_ms - window.milliseconds) / 1000
        )

    @property
    def users(self) -> int:
        """Users with a window in memory (for tests of the sweep)."""
        return len(self._users)

    def _over_window(self, window: _Window, now: float) -> Refusal | None:
        limits = self.limits
        if window.blocked is not None and now < window.blocked_until:
            return Refusal(window.blocked, _seconds_until(window.blocked_until, now))
        window.blocked = None
        if window.requests >= limits.requests:
            window.blocked = Exceeded.REQUESTS
            window.blocked_until = window.admits_at(1, limits.requests, now, limits.window_seconds)
        elif window.milliseconds >= limits.execution_ms:
            window.blocked = Exceeded.EXECUTION_TIME
            window.blocked_until = window.admits_at(2, limits.execution_ms, now, limits.window_seconds)
        else:
            return None
        return Refusal(window.blocked, _seconds_until(window.blocked_until, now))

    def _sweep(self, now: float) -> None:
        """Forget users whose window is empty and who have nothing in flight (bounded memory, once per window)."""
        second, window_seconds = int(now), self.limits.window_seconds
        for user in list(self._users):
            window = self._users[user]
            window.slide(second, window_seconds)
            if not window.buckets and window.executing == 0:
                del self._users[user]
        self._next_sweep = now + window_seconds


def _seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))
