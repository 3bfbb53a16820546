"""Throwaway PostgreSQL databases for tests and benchmarks (no test framework imported here)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

POSTGRES_URL = os.environ.get("CCAAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def create_postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the test server; returns its URL and a function that drops it."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"ccaas_test_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = make_url(plain).set(database=name).render_as_string(hide_password=False)
    return url, drop
