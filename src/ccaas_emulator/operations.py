"""Liveness, readiness and Prometheus metrics, outside /api/data/ and needing no token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ccaas_emulator import metrics as prometheus
from ccaas_emulator.db.engine import error_summary
from ccaas_emulator.db.migrate import current_revision, head_revision
from ccaas_emulator.deps import ClockDep, DatabaseDep
from ccaas_emulator.wire.errors import SERVICE_UNAVAILABLE
from ccaas_emulator.wire.responses import ODataJSONResponse

router = APIRouter(tags=["Operations"])


@router.get("/health", summary="The process is alive")
async def health() -> ODataJSONResponse:
    return ODataJSONResponse({"status": "ok"})


READY_WRITE_WAIT_SECONDS = 2
"""How long /ready waits for the write lock before it calls writes blocked (a probe answers in seconds)."""


@router.get("/ready", summary="The database is reachable, migrated to head and accepts a write (503 otherwise)")
async def ready(request: Request, database: DatabaseDep) -> ODataJSONResponse:
    expected = request.app.state.head_revision

    def check() -> str | None:
        # Reads (SQLite's deferred BEGIN): a database that takes no writes is reported as such, below.
        reader = database.engine.execution_options(sqlite_begin="DEFERRED")
        with reader.connect() as connection:
            connection.execute(text("SELECT 1"))
        return current_revision(reader)

    try:
        revision = await run_in_threadpool(check)
    except SQLAlchemyError as exc:
        raise SERVICE_UNAVAILABLE(message=f"The database is not reachable: {type(exc).__name__}.") from None
    if revision != expected:
        raise SERVICE_UNAVAILABLE(
            message=f"The database schema is at revision {revision}, not {expected}; run 'ccaas-emulator migrate'."
        )
    try:
        await run_in_threadpool(_try_a_write, database.engine)
    except SQLAlchemyError as exc:
        # Issue 12: /ready said 200 while the SQLite file was read-only or another writer held the lock.
        detail = error_summary(exc)
        raise SERVICE_UNAVAILABLE(message=f"The database does not accept writes: {detail}.") from None
    return ODataJSONResponse({"status": "ready", "database": database.engine.dialect.name, "revision": revision})


def _try_a_write(engine: Engine) -> None:
    """Update alembic_version's one row to itself and roll back: it takes the write lock like any request's write
    (SQLite's BEGIN IMMEDIATE, a row lock on PostgreSQL), waiting at most READY_WRITE_WAIT_SECONDS for it.

    Its own connection, not the process's write lock: a writer of this process stuck on the lock fails it too.
    """
    wait_ms = READY_WRITE_WAIT_SECONDS * 1000
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        raw: Any = connection.connection.driver_connection  # outside SQLAlchemy's transaction: no BEGIN yet
        if sqlite:
            restore = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute(f"PRAGMA busy_timeout={wait_ms}")
        try:
            with connection.begin() as transaction:
                if not sqlite:
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
                transaction.rollback()
        finally:
            if sqlite:
                raw.execute(f"PRAGMA busy_timeout={int(restore)}")


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests by route and status, latency, deliveries by status, dial results, "
    "queue depth",
    response_class=Response,
)
async def metrics(database: DatabaseDep, clock: ClockDep) -> Response:
    body = await run_in_threadpool(prometheus.exposition, database, clock)
    return Response(body, media_type=prometheus.CONTENT_TYPE)


def expected_head() -> str | None:
    return head_revision()
