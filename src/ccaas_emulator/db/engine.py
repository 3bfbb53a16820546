"""Engine construction: one place knows how SQLite and PostgreSQL differ at connection level."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def dumps_json(value: Any) -> str:
    """JSON columns (windows, chains, journal details) written by orjson, as every other JSON of the emulator:
    compact, UTF-8; non-string keys as strings, as the stdlib's json.dumps writes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def normalize_url(raw: str) -> URL:
    """Accept postgres://, postgresql:// and sqlite:/// URLs; PostgreSQL always goes through psycopg 3."""
    url = make_url(raw.replace("postgres://", "postgresql://", 1) if raw.startswith("postgres://") else raw)
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# Connections a process opens beyond its pool, for the threads that are not request threads: the group commit's
# writers (2 on PostgreSQL), the dialer (a read beside its write), the housekeeper and key reloads. Request
# threads are capped at the pool size (app.py sizes the thread pool to it), so the overflow only serves these:
# three processes at the defaults hold at most 3 x (20 + 6) = 78 connections, under PostgreSQL's default 100.
BACKGROUND_CONNECTIONS = 6


def make_engine(
    raw_url: str, *, pool_size: int = 20, lock_timeout: float = 30.0, statement_timeout: float = 0.0
) -> Engine:
    """Build the engine, creating the SQLite file's folder and setting its pragmas.

    `lock_timeout` bounds how long a statement waits for a lock (SQLite's busy timeout, PostgreSQL's
    lock_timeout); `statement_timeout` (PostgreSQL only, 0 for none) how long one statement may run. Past
    either the statement fails, and the API answers 503 (database_trouble). Migrations keep the defaults:
    an index build may rightly take long.
    """
    url = normalize_url(raw_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool_size=pool_size, lock_timeout=lock_timeout)
    options = f"-c lock_timeout={round(lock_timeout * 1000)} -c statement_timeout={round(statement_timeout * 1000)}"
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=BACKGROUND_CONNECTIONS,
        json_serializer=dumps_json,
        json_deserializer=orjson.loads,
        # No pre-ping: it costs a round trip per request. A connection the server dropped fails once
        # and is replaced (the pool invalidates it); recycling bounds how stale a connection gets.
        pool_recycle=1800,
        connect_args={"connect_timeout": 5, "options": options},
    )


SQLITE_CACHE_KIB = 16 * 1024


def _sqlite_engine(url: URL, *, pool_size: int, lock_timeout: float) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Most recently returned first: the group commit's writer gets back the connection it just committed on,
        # whose page cache holds the indexes it writes to. Round robin over the pool (the default), each commit
        # found a cache another connection's writes had made stale, and read the pages again.
        pool_use_lifo=True,
        json_serializer=dumps_json,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": lock_timeout},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (below), instead of pysqlite's lazy BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL + synchronous=NORMAL: readers never block the writer, and a committed row survives a
        # killed process (not a power cut); the README says so.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(lock_timeout * 1000)}")
        # Up to 16 MiB of pages per connection (the default is 2 MiB): the ten indexes of msdyn_proactive_delivery
        # that every delivery updates stay in memory instead of being read again (pread) at each group commit.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front (BEGIN IMMEDIATE) so a read-then-write transaction waits on
        # busy_timeout instead of failing with SQLITE_BUSY when it upgrades; readers stay deferred.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


Trouble = Literal["unavailable", "busy"]
"""Why the database could not serve a request for now: unreachable, read-only or full (unavailable), or a lock
or statement waited too long or lost a deadlock (busy). Either passes; neither is a bug."""

# PostgreSQL SQLSTATEs (Appendix A of its manual) that say "the server, not the statement".
_POSTGRES_BUSY = {"55P03", "57014", "40P01", "40001"}  # lock_timeout, statement_timeout, deadlock, serialization
_POSTGRES_UNAVAILABLE_CLASSES = ("08", "53", "57P", "58")  # connection, resources (disk full, too many), shutdown, I/O
_POSTGRES_UNAVAILABLE = {"3D000", "25006"}  # the database was dropped; a read-only transaction (hot standby)
# SQLite result codes (sqlite3's sqlite_errorname, Python 3.11+), and their messages where the code is absent.
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_SQLITE_UNAVAILABLE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_NOTADB")
_SQLITE_BUSY_WORDS = ("database is locked", "database table is locked")
_SQLITE_UNAVAILABLE_WORDS = (
    "database or disk is full",
    "disk i/o error",
    "readonly database",
    "unable to open database file",
)


def database_trouble(exc: BaseException) -> Trouble | None:
    """What kind of database trouble `exc` is, or None when it is a bug (a bad statement, a broken constraint).

    Only a DBAPI error or the pool's timeout can be trouble; SQLAlchemy marks a connection that died under it as
    invalidated.
    """
    if isinstance(exc, PoolTimeout):  # every connection of the pool stayed in use for pool_timeout: busy, it passes
        return "busy"
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return "unavailable"
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate in _POSTGRES_BUSY:
            return "busy"
        if sqlstate in _POSTGRES_UNAVAILABLE or sqlstate.startswith(_POSTGRES_UNAVAILABLE_CLASSES):
            return "unavailable"
        return None
    name = getattr(original, "sqlite_errorname", None)
    if isinstance(name, str):
        if name.startswith(_SQLITE_BUSY):
            return "busy"
        if name.startswith(_SQLITE_UNAVAILABLE):
            return "unavailable"
        return None
    message = str(original).lower()
    if any(words in message for words in _SQLITE_BUSY_WORDS):
        return "busy"
    if any(words in message for words in _SQLITE_UNAVAILABLE_WORDS):
        return "unavailable"
    # psycopg's errors without a SQLSTATE are the client's: connection refused, closed, timed out.
    if type(original).__module__.startswith("psycopg") and type(original).__name__ == "OperationalError":
        return "unavailable"
    return None


def error_summary(exc: BaseException) -> str:
    """The driver's own first line of a database error (no SQL, no parameters), at most 200 characters."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]
