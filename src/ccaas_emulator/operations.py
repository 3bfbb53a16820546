"""Liveness, readiness and Prometheus metrics, outside /api/data/ and needing no token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ccaas_emulator import metrics as prometheus
from ccaas_emulator.db.migrate import current_revision, head_revision
from ccaas_emulator.deps import ClockDep, DatabaseDep
from ccaas_emulator.wire.errors import SERVICE_UNAVAILABLE
from ccaas_emulator.wire.responses import ODataJSONResponse

router = APIRouter(tags=["Operations"])


@router.get("/health", summary="The process is alive")
async def health() -> ODataJSONResponse:
    return ODataJSONResponse({"status": "ok"})


@router.get("/ready", summary="The database is reachable and migrated to head (503 otherwise)")
async def ready(request: Request, database: DatabaseDep) -> ODataJSONResponse:
    expected = request.app.state.head_revision

    def check() -> str | None:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return current_revision(database.engine)

    try:
        revision = await run_in_threadpool(check)
    except SQLAlchemyError as exc:
        raise SERVICE_UNAVAILABLE(message=f"The database is not reachable: {type(exc).__name__}.") from None
    if revision != expected:
        raise SERVICE_UNAVAILABLE(
            message=f"The database schema is at revision {revision}, not {expected}; run 'ccaas-emulator migrate'."
        )
    return ODataJSONResponse({"status": "ready", "database": database.engine.dialect.name, "revision": revision})


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
