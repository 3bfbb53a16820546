"""Units of work: the only place in the emulator that commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


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
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._write_lock, self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (never takes SQLite's write lock); objects stay readable after it."""
        with self._reader() as session:
            yield session  # leaving the block closes the session, ending its transaction

    def dispose(self) -> None:
        self.engine.dispose()
