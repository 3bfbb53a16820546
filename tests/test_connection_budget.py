"""Connections at the defaults: three processes fit under PostgreSQL's max_connections (issue 17, item 4)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import text

from ccaas_emulator.db.engine import BACKGROUND_CONNECTIONS, make_engine
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app

PROCESSES = 3  # docker-compose.yml's topology: two API processes and a worker


def test_three_processes_at_the_defaults_stay_under_max_connections(postgres_admin_url):
    defaults = Settings(database_url=postgres_admin_url)
    engine = make_engine(postgres_admin_url, pool_size=defaults.db_pool_size)
    try:
        per_process = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
        with engine.connect() as connection:
            limit = int(connection.execute(text("SHOW max_connections")).scalar_one())
            reserved = int(connection.execute(text("SHOW superuser_reserved_connections")).scalar_one())
    finally:
        engine.dispose()
    assert per_process == defaults.db_pool_size + BACKGROUND_CONNECTIONS
    assert PROCESSES * per_process <= limit - reserved


def test_request_threads_are_as_many_as_pooled_connections(settings, clock, database):
    """A burst of sync requests waits for a thread rather than opening connections past the pool."""
    app = create_test_app(settings, clock=clock, database=database)
    seen: list[float] = []

    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    @app.get("/__limiter")
    async def limiter(total: float = Depends(tokens)) -> dict[str, float]:
        seen.append(total)
        return {"total": total}

    with TestClient(app) as client:
        assert client.get("/__limiter").json() == {"total": settings.db_pool_size}
    assert seen == [settings.db_pool_size]
