"""Units of work: the only place in the emulator that commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("ccaas_emulator.db")

Handler = Callable[[Session, Sequence[Any]], list[Any]]
"""Writes the work of several requests in one open transaction, without committing it.

It returns one outcome per payload, in order: a value (the request succeeded; its rows are written) or an
exception instance (the request is refused and wrote nothing). Raising means the whole group failed."""


class Database:
    """The engine plus session factories for write and read-only units of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._reader = sessionmaker(
            bind=engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False, autoflush=False
        )
        # SQLite has one writer. Threads of this process queue on a lock (woken the moment it is free)
        # instead of in SQLite's busy handler, whose sleeps grow to 100 ms and wreck the latency tail.
        #
        # Lock order, the only one in the process (a thread holding a lock never waits for one above it):
        #   1. Dialer._tick_lock        (dialer/runner.py: one tick, or one clock advance, at a time)
        #   2. Database._write_lock     (SQLite only; held by a write transaction, a group commit, or a $batch
        #                                change set's shared transaction for the whole change set)
        #   3. the database's own locks (SQLite's file lock, PostgreSQL's row locks)
        # A shared transaction holds 2 across awaits, so nothing inside one may take 1: $batch parts only reach
        # /api/data (odata/batch.py), and the dialer refuses to run inside one (in_shared_transaction).
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        self._group_commit: GroupCommit | None = None
        self._group_commit_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        Inside a shared transaction (see shared_transaction) it is that transaction, which its owner commits.
        """
        shared = _shared_session.get()
        if shared is not None:
            yield shared
            return
        with self._write_lock, self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (never takes SQLite's write lock); objects stay readable after it.

        Inside a shared transaction it reads that transaction, so it sees what was written in it so far.
        """
        shared = _shared_session.get()
        if shared is not None:
            yield shared
            return
        with self._reader() as session:
            yield session  # leaving the block closes the session, ending its transaction

    @contextmanager
    def joined_transaction(self) -> Iterator[Session]:
        """One write transaction that every unit of work this thread opens inside the block joins (reads too, so
        they see its writes): the dialer's time travel runs many event times in one commit this way.

        Committed when the block ends, rolled back if it raises; it does not nest in a shared transaction.
        """
        if _shared_session.get() is not None:
            raise RuntimeError("shared transactions do not nest")
        with self.transaction() as session:
            token = _shared_session.set(session)
            try:
                yield session
            finally:
                _shared_session.reset(token)

    @asynccontextmanager
    async def shared_transaction(self) -> AsyncIterator[SharedTransaction]:
        """One transaction for every unit of work opened inside the block, by this task and the threads and
        tasks it starts (they inherit the context): an OData $batch change set, all or nothing.

        Committed when the block ends; rolled back when it raises or when `fail()` was called.
        """
        if _shared_session.get() is not None:
            raise RuntimeError("shared transactions do not nest")
        manager = self.transaction()
        session = await asyncio.to_thread(manager.__enter__)
        shared = SharedTransaction()
        token = _shared_session.set(session)
        try:
            yield shared
        except BaseException as exc:
            _shared_session.reset(token)
            await asyncio.to_thread(manager.__exit__, type(exc), exc, exc.__traceback__)
            raise
        _shared_session.reset(token)
        if shared.failed:
            rollback = _SharedTransactionFailed()
            await asyncio.to_thread(manager.__exit__, _SharedTransactionFailed, rollback, None)
        else:
            await asyncio.to_thread(manager.__exit__, None, None, None)

    @property
    def group_commit(self) -> GroupCommit:
        """This process's group committer for the hot write path (started on first use)."""
        if self._group_commit is None:
            with self._group_commit_lock:
                if self._group_commit is None:
                    self._group_commit = GroupCommit(self)
        return self._group_commit

    def dispose(self) -> None:
        if self._group_commit is not None:
            self._group_commit.stop()
            self._group_commit = None
        self.engine.dispose()


_shared_session: ContextVar[Session | None] = ContextVar("ccaas_shared_session", default=None)


def in_shared_transaction() -> bool:
    """Whether this code runs inside a shared transaction ($batch change set), which holds the write lock."""
    return _shared_session.get() is not None


@dataclass
class SharedTransaction:
    """A transaction every unit of work inside its block joins: `fail()` rolls it back instead of committing."""

    failed: bool = False

    def fail(self) -> None:
        self.failed = True


class _SharedTransactionFailed(Exception):
    """Thrown into the shared transaction to roll it back."""


@dataclass
class _Job:
    handler: Handler
    payload: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class GroupCommit:
    """Group commit: one writer thread takes the work of every request waiting at that moment, writes it
    in one transaction and commits once, then answers each request, only after its rows are committed.

    Each request stays all-or-nothing: a handler refuses a request (an exception as its outcome) before
    writing anything for it, and when a group fails as a whole (a database error) every request of it is
    run again alone, in its own transaction, so one request's failure is its own and no one else's.
    On SQLite this replaces many writers queueing on one lock by one writer; on PostgreSQL it turns N
    commits and N sets of round trips into one.
    """

    def __init__(self, database: Database, *, max_group: int = 256, writers: int | None = None) -> None:
        self._database = database
        self._max_group = max_group
        # SQLite has one writer anyway; PostgreSQL takes several, and a second writer runs its Python while
        # the first waits on the server.
        self._writers = writers or (1 if database.engine.dialect.name == "sqlite" else 2)
        self._queue: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    async def run(self, handler: Handler, payload: Any) -> Any:
        """Queue one request's work and wait until it is committed (its outcome) or refused (raised).

        Inside a shared transaction the work joins it instead, and commits with it.
        """
        shared = _shared_session.get()
        if shared is not None:
            [outcome] = await asyncio.to_thread(handler, shared, [payload])
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("the database is closing")
            if not self._threads:
                for number in range(self._writers):
                    thread = threading.Thread(target=self._work, name=f"ccaas-group-commit-{number}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
            self._queue.append(_Job(handler, payload, loop, future))
            self._ready.notify()
        return await future

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the work already queued, then end the writer thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                jobs = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_group))]
            try:
                outcomes = self._commit(jobs)
            except BaseException as exc:
                outcomes = [exc] * len(jobs)
            self._answer(jobs, outcomes)

    def _commit(self, jobs: list[_Job]) -> list[Any]:
        try:
            with self._database.transaction() as session:
                outcomes = self._apply(session, jobs)
        except Exception as exc:
            if len(jobs) == 1:
                return [exc]
            log.warning("a group of %d writes failed (%s); committing each alone", len(jobs), type(exc).__name__)
            return [self._commit([job])[0] for job in jobs]
        return outcomes

    @staticmethod
    def _apply(session: Session, jobs: list[_Job]) -> list[Any]:
        outcomes: list[Any] = [None] * len(jobs)
        by_handler: dict[Handler, list[int]] = {}
        for index, job in enumerate(jobs):
            by_handler.setdefault(job.handler, []).append(index)
        for handler, indexes in by_handler.items():
            results = handler(session, [jobs[index].payload for index in indexes])
            if len(results) != len(indexes):
                raise RuntimeError(f"{handler!r} returned {len(results)} outcomes for {len(indexes)} requests")
            for index, result in zip(indexes, results, strict=True):
                outcomes[index] = result
        return outcomes

    @staticmethod
    def _answer(jobs: list[_Job], outcomes: list[Any]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for job, outcome in zip(jobs, outcomes, strict=True):
            by_loop.setdefault(job.loop, []).append((job.future, outcome))
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_resolve, answers)  # one wake-up of the loop per group


def _resolve(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, outcome in answers:
        if future.done():  # the request was cancelled (client gone); its work is committed all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
