"""Liveness and readiness, outside /api/data/ and needing no token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from ccaas_emulator.db.migrate import current_revision, head_revision
from ccaas_emulator.runtime import Runtime
from ccaas_emulator.wire.errors import SERVICE_UNAVAILABLE
from ccaas_emulator.wire.responses import ODataJSONResponse

router = APIRouter(tags=["Operations"])


@router.get("/health", summary="The process is alive")
async def health() -> ODataJSONResponse:
    return ODataJSONResponse({"status": "ok"})


@router.get("/ready", summary="The database is reachable and migrated to head (503 otherwise)")
async def ready(request: Request) -> ODataJSONResponse:
    runtime: Runtime = request.app.state.runtime
    expected = request.app.state.head_revision

    def check() -> str | None:
        with runtime.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return current_revision(runtime.database.engine)

    try:
        revision = await run_in_threadpool(check)
    except SQLAlchemyError as exc:
        raise SERVICE_UNAVAILABLE(message=f"The database is not reachable: {type(exc).__name__}.") from None
    if revision != expected:
        raise SERVICE_UNAVAILABLE(
            message=f"The database schema is at revision {revision}, not {expected}; run 'ccaas-emulator migrate'."
        )
    return ODataJSONResponse(
        {"status": "ready", "database": runtime.database.engine.dialect.name, "revision": revision}
    )


def expected_head() -> str | None:
    return head_revision()
