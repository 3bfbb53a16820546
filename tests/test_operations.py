"""/health and /ready: outside /api/data/, no token needed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from ccaas_emulator.clock import FixedClock
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import SigningKey
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import NOW


def test_health_answers_without_a_token(client):
    response = client.get("/health")

    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_reports_the_database_at_head(client):
    response = client.get("/ready")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_ready_is_503_when_migrations_are_not_at_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(make_engine(url))
    SigningKey.__table__.create(database.engine)  # enough schema to start; no alembic_version at all
    try:
        with TestClient(
            create_test_app(Settings(database_url=url), clock=FixedClock(NOW), database=database)
        ) as client:
            response = client.get("/ready")
    finally:
        database.dispose()

    assert response.status_code == 503
    assert "run 'ccaas-emulator migrate'" in response.json()["error"]["message"]


def test_ready_is_503_when_the_database_is_gone(client, database):
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    runtime = client.app.state.runtime
    original = runtime.database
    runtime.database = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    try:
        response = client.get("/ready")
    finally:
        runtime.database.dispose()
        runtime.database = original

    assert response.status_code == 503
    assert "not reachable" in response.json()["error"]["message"]


def test_ready_is_503_while_another_writer_holds_the_write_lock(client, database):
    """The probe: /ready said 200 while writes were blocked. It now takes the write lock as a request's write
    does (waiting at most READY_WRITE_WAIT_SECONDS), and says 503 when it cannot."""
    with database.engine.connect() as holder, holder.begin():
        holder.execute(text("UPDATE alembic_version SET version_num = version_num"))

        response = client.get("/ready")

    assert response.status_code == 503
    assert response.headers["connection"] == "close"
    error = response.json()["error"]
    assert error["code"] == "0x80040216"
    assert error["message"].startswith("The database does not accept writes: ")
    assert client.get("/ready").status_code == 200  # and ready again once the lock is released
