"""Database trouble on the wire (issue 12, item 4): an outage is a 503 with Retry-After, a bug stays a 500, and
neither leaves a keep-alive client writing its next request into a connection the server has closed."""

from __future__ import annotations

import re
import socket
import sqlite3
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc

from ccaas_emulator.clock import FixedClock, SharedClock, real_now
from ccaas_emulator.db.engine import database_trouble, make_engine
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.dialer.dispatcher import TickReport
from ccaas_emulator.dialer.runner import Dialer
from ccaas_emulator.runtime import Runtime
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import DEMO_VOICE_CONFIG, NOW, ORG_URL
from tests.support.postgres import create_postgres_database
from tests.support.samples import voice_body
from tests.support.servers import Server, start_server, stop
from tests.support.tokens import Tokens, bearer
from tests.support.urls import CONFIGS

ENTITY_SET = "/api/data/v9.2/msdyn_proactive_deliveries?$top=1"
VOICE_ACTION = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"


class KeepAliveConnection:
    """One HTTP/1.1 connection kept open across requests, read byte for byte: what a pooling client does."""

    def __init__(self, server: Server) -> None:
        self.socket = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.buffer = b""

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes = b"") -> dict[str, Any]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return self._response()

    def _response(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return {"status": int(status_line.split()[1]), "headers": headers, "body": body}

    def _fill(self) -> None:
        try:
            chunk = self.socket.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionError("the server closed the connection without answering")
        self.buffer += chunk

    def close(self) -> None:
        self.socket.close()


def assert_envelope(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["status"] == status, response
    assert response["headers"]["content-type"] == "application/json; odata.metadata=minimal"
    error = orjson.loads(response["body"])["error"]
    assert error["code"] == code, error
    return dict(error)


# --- a bug: 500, and the connection is closed only after saying so ------------------------------------------


@pytest.mark.slow  # a served process
def test_a_500_says_connection_close_so_the_next_request_is_not_lost(database_for_server):
    """The probe: after any 500 the server closed the keep-alive connection unannounced, and the client's next
    request on it got no answer (136 of 300). A table gone under the server is a bug's 500 on both back ends."""
    server, process = start_server(database_for_server, CCAAS_DIALER="off")
    try:
        token = server.token()
        auth = {"Authorization": f"Bearer {token}"}
        connection = KeepAliveConnection(server)
        assert connection.request("GET", ENTITY_SET, headers=auth)["status"] == 200
        engine = make_engine(database_for_server, pool_size=1)
        with engine.begin() as admin:
            admin.execute(text("ALTER TABLE msdyn_proactive_delivery RENAME TO msdyn_proactive_delivery_gone"))
        engine.dispose()

        failed = connection.request("GET", ENTITY_SET, headers=auth)

        error = assert_envelope(failed, 500, "0x80040216")
        assert failed["headers"]["req_id"] in error["message"]
        assert failed["headers"].get("connection") == "close"
        with pytest.raises(ConnectionError):  # it said so, and did so
            connection.request("GET", "/health", headers={})
        connection.close()
        # A fresh connection is served, and a 200 keeps its connection open for the next request.
        fresh = KeepAliveConnection(server)
        assert fresh.request("GET", "/health", headers={})["headers"].get("connection") is None
        assert fresh.request("GET", "/health", headers={})["status"] == 200
        fresh.close()
    finally:
        stop(process)


# --- an outage under a served process: 503, then served again -------------------------------------------------


@pytest.mark.slow  # a served process
def test_a_postgresql_that_drops_the_connections_then_the_database_answers_503_not_500(postgres_admin_url):
    """The probe: a dropped database gave 500s (then dropped connections). The server's connections killed under
    it, then the database itself dropped: each request is 503 with Retry-After, and the service recovers."""
    url, drop = create_postgres_database(postgres_admin_url)
    server, process = start_server(url, CCAAS_DIALER="off")
    name = url.rsplit("/", 1)[1]
    try:
        auth = {"Authorization": f"Bearer {server.token()}"}
        connection = KeepAliveConnection(server)
        assert connection.request("GET", ENTITY_SET, headers=auth)["status"] == 200
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )

        killed = connection.request("GET", ENTITY_SET, headers=auth)

        assert_envelope(killed, 503, "0x80044150")
        assert killed["headers"]["retry-after"] == "5"
        assert killed["headers"]["connection"] == "close"
        connection.close()
        # The pool replaced the dead connections: the next request, on a new HTTP connection, is served.
        again = KeepAliveConnection(server)
        assert again.request("GET", ENTITY_SET, headers=auth)["status"] == 200
        again.close()

        drop()
        gone = KeepAliveConnection(server)
        for _ in range(2):  # the pooled connection dies, then a new one finds no database
            response = gone.request("GET", ENTITY_SET, headers=auth)
            error = assert_envelope(response, 503, "0x80044150")
            assert response["headers"]["retry-after"] == "5"
            assert response["headers"]["connection"] == "close"
            gone.close()
            gone = KeepAliveConnection(server)
        assert "does not exist" in error["message"]
        gone.close()
    finally:
        stop(process)
        drop()


@pytest.mark.slow  # a served process
def test_a_sqlite_writer_holding_the_lock_past_the_lock_timeout_is_503_busy(tmp_path):
    """CCAAS_DB_LOCK_TIMEOUT_SECONDS reaches the served process: a write waits that long for the lock, then 503."""
    path = tmp_path / "var" / "ccaas.db"
    server, process = start_server(f"sqlite:///{path}", CCAAS_DIALER="off", CCAAS_DB_LOCK_TIMEOUT_SECONDS="0.5")
    try:
        headers = {"Authorization": f"Bearer {server.token()}", "Content-Type": "application/json"}
        body = orjson.dumps(voice_body())
        connection = KeepAliveConnection(server)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            locked = connection.request("POST", VOICE_ACTION, headers=headers, body=body)
        finally:
            holder.rollback()
            holder.close()

        error = assert_envelope(locked, 503, "0x80044151")
        assert "database is locked" in error["message"]
        assert locked["headers"]["retry-after"] == "1"
        assert locked["headers"]["connection"] == "close"
        connection.close()
        served = KeepAliveConnection(server)
        assert served.request("POST", VOICE_ACTION, headers=headers, body=body)["status"] == 200
        served.close()
    finally:
        stop(process)


def test_a_bug_is_a_500_in_the_envelope_with_the_dataverse_headers_and_connection_close(client):
    """An exception that is no database trouble: Starlette's last-resort handler answered it outside every
    middleware, so the 500 had no REQ_ID, no OData-Version, and no word that the connection would close."""

    async def broken() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/broken", broken)

    response = client.get("/broken")

    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.headers["odata-version"] == "4.0"
    assert response.headers["req_id"] == response.headers["x-ms-service-request-id"]
    assert response.json()["error"]["code"] == "0x80040216"
    assert response.headers["req_id"] in response.json()["error"]["message"]


# --- which database errors are trouble (503) and which are bugs (500) ----------------------------------------


def _sqlite(message: str, name: str | None = None) -> sa_exc.DBAPIError:
    original = sqlite3.OperationalError(message)
    if name is not None:
        original.sqlite_errorname = name  # type: ignore[attr-defined]
    return sa_exc.OperationalError("UPDATE x", {}, original)


def _postgres(sqlstate: str | None, kind: type[sa_exc.DBAPIError] = sa_exc.OperationalError) -> sa_exc.DBAPIError:
    original = psycopg.errors.lookup(sqlstate)("from the server") if sqlstate else psycopg.OperationalError("refused")
    return kind("SELECT 1", {}, original)


@pytest.mark.parametrize(
    ("error", "trouble"),
    [
        (_sqlite("database is locked", "SQLITE_BUSY"), "busy"),
        (_sqlite("database is locked"), "busy"),
        (_sqlite("database table is locked", "SQLITE_LOCKED"), "busy"),
        (_sqlite("database or disk is full", "SQLITE_FULL"), "unavailable"),
        (_sqlite("database or disk is full"), "unavailable"),
        (_sqlite("disk I/O error", "SQLITE_IOERR_WRITE"), "unavailable"),
        (_sqlite("attempt to write a readonly database", "SQLITE_READONLY"), "unavailable"),
        (_sqlite("unable to open database file", "SQLITE_CANTOPEN"), "unavailable"),
        (_postgres(None), "unavailable"),  # connection refused / closed: no SQLSTATE
        (_postgres("57P01"), "unavailable"),  # admin_shutdown: the server was stopped
        (_postgres("57P03"), "unavailable"),  # cannot_connect_now: starting up
        (_postgres("53300"), "unavailable"),  # too_many_connections
        (_postgres("53100"), "unavailable"),  # disk_full
        (_postgres("3D000"), "unavailable"),  # the database was dropped
        (_postgres("08006"), "unavailable"),  # connection_failure
        (_postgres("55P03"), "busy"),  # lock_not_available: lock_timeout
        (_postgres("57014"), "busy"),  # query_canceled: statement_timeout
        (_postgres("40P01"), "busy"),  # deadlock_detected
        (_postgres("40001"), "busy"),  # serialization_failure
        # The pool had no free connection within its timeout (seen as a 500 under load before).
        (
            sa_exc.TimeoutError("QueuePool limit of size 20 overflow 6 reached, connection timed out, timeout 30.00"),
            "busy",
        ),
        # Bugs stay 500s: a missing table, bad SQL, a broken constraint.
        (_sqlite("no such table: msdyn_proactive_delivery", "SQLITE_ERROR"), None),
        (_sqlite("no such column: x"), None),
        (_postgres("42P01", sa_exc.ProgrammingError), None),
        (_postgres("42601", sa_exc.ProgrammingError), None),
        (_postgres("23505", sa_exc.IntegrityError), None),
        (RuntimeError("not the database"), None),
    ],
    ids=repr,
)
def test_database_errors_are_trouble_by_kind_and_bugs_otherwise(error, trouble):
    assert database_trouble(error) == trouble


def test_a_connection_that_died_under_a_statement_is_unavailable():
    error = _postgres("42P01", sa_exc.ProgrammingError)
    error.connection_invalidated = True

    assert database_trouble(error) == "unavailable"


# --- a database that takes no writes: 503 with Retry-After, and /ready says so ------------------------------


@pytest.fixture
def read_only_client(settings, clock, database, database_url):
    """The emulator on a database that refuses writes (SQLite `query_only`, PostgreSQL read-only transactions),
    as a full disk, a read-only file or a hot standby does."""
    engine = make_engine(database_url, pool_size=2)

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()

    read_only = Database(engine)
    app = create_test_app(settings, clock=clock, database=read_only)
    try:
        with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        read_only.dispose()


def test_a_write_to_a_database_that_takes_none_is_503_with_retry_after(read_only_client, settings):
    """The probe: a full disk gave 500s (and then dropped connections); it is the database's trouble, not a bug."""
    tokens = Tokens(read_only_client.app.state.runtime.keys, settings, real_now())
    headers = bearer(tokens.for_user("agent"))

    response = read_only_client.post(VOICE_ACTION, json=voice_body(), headers=headers)

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["connection"] == "close"
    assert response.headers["req_id"]
    error = response.json()["error"]
    assert error["code"] == "0x80044150"
    assert error["message"].startswith("Generic SQL error. The database cannot serve requests now (")
    # Reads still work.
    assert read_only_client.get(ENTITY_SET, headers=headers).status_code == 200


def test_ready_is_503_when_the_database_takes_no_writes(read_only_client):
    """The probe: /ready said 200 while the SQLite file was read-only."""
    response = read_only_client.get("/ready")

    assert response.status_code == 503
    assert response.headers["connection"] == "close"
    error = response.json()["error"]
    assert error["code"] == "0x80040216"
    assert error["message"].startswith("The database does not accept writes: ")


# --- a request waits for a lock at most CCAAS_DB_LOCK_TIMEOUT_SECONDS, then 503 -------------------------------


@pytest.fixture
def impatient_client(settings, clock, database, database_url):
    """The emulator with a half-second lock timeout (SQLite busy timeout, PostgreSQL lock_timeout)."""
    impatient = Database(make_engine(database_url, pool_size=2, lock_timeout=0.5))
    app = create_test_app(settings, clock=clock, database=impatient)
    try:
        with TestClient(app, base_url=ORG_URL, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        impatient.dispose()


def test_a_write_that_waits_past_the_lock_timeout_is_503_busy(impatient_client, settings, database):
    """A writer holding the lock used to keep a request waiting 30 s on SQLite and for ever on PostgreSQL, then
    (SQLite) answer 500. The wait is bounded, and the answer says to come back."""
    tokens = Tokens(impatient_client.app.state.runtime.keys, settings, real_now())
    admin = bearer(tokens.for_user("admin"))
    config = f"{CONFIGS}({DEMO_VOICE_CONFIG})"
    with database.engine.connect() as holder, holder.begin():
        holder.execute(
            text("UPDATE msdyn_proactive_engagement_config SET msdyn_name = msdyn_name WHERE msdyn_name IS NOT NULL")
        )

        response = impatient_client.patch(config, json={"msdyn_description": "changed"}, headers=admin)

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.headers["connection"] == "close"
    error = response.json()["error"]
    assert error["code"] == "0x80044151"
    assert error["message"].startswith("SQL timeout expired. The database is busy (")
    # Once the lock is released the same write goes through.
    assert impatient_client.patch(config, json={"msdyn_description": "changed"}, headers=admin).status_code == 204


def test_the_lock_and_statement_timeouts_come_from_the_settings(database_url):
    settings = Settings(
        database_url=database_url, org_url=ORG_URL, db_lock_timeout_seconds=1.5, db_statement_timeout_seconds=7
    )
    runtime = Runtime.start(settings, clock=FixedClock(NOW))
    try:
        with runtime.database.engine.connect() as connection:
            if runtime.database.engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
            else:
                assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1500ms"
                assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "7s"
    finally:
        runtime.close()


# --- the dialer while the database is down: back-off, one line per streak ------------------------------------


class _CountingStop:
    """Stands in for the dialer's stop event: records each wait instead of sleeping, stops after `rounds`."""

    def __init__(self, rounds: int) -> None:
        self.rounds, self.waits = rounds, []

    def is_set(self) -> bool:
        return len(self.waits) >= self.rounds

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.is_set()


def test_the_dialer_backs_off_while_the_database_is_down_and_logs_one_line_each_way(database, caplog):
    """The probe: with the database dropped the dialer logged a full traceback every 0.2 s (41 KB/s)."""
    dialer = Dialer(database, SharedClock(database), Settings(database_url="sqlite://", dialer_poll_seconds=0.2))
    down = _sqlite("unable to open database file", "SQLITE_CANTOPEN")
    outcomes: list[Any] = [down] * 9 + [TickReport()] * 2

    def step() -> TickReport:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    dialer.catch_up = step  # type: ignore[method-assign]  # the background loop's step
    dialer._stop = _CountingStop(rounds=11)  # type: ignore[assignment]

    with caplog.at_level("INFO", logger="ccaas_emulator.dialer"):
        dialer.run()

    assert dialer._stop.waits == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 0.2, 0.2]
    lines = [record for record in caplog.records if record.levelname != "INFO"]
    assert [record.getMessage().split(" (")[0].split(" after")[0] for record in lines] == [
        "dialer tick failed, the database is in trouble",
        "dialer recovered",
    ]
    assert "unable to open database file" in lines[0].getMessage()
    assert "after 9 failed ticks" in lines[1].getMessage()
    assert all(record.exc_info is None for record in lines)  # no traceback for an outage


def test_a_dialer_bug_logs_its_traceback_once_per_streak(database, caplog):
    dialer = Dialer(database, SharedClock(database), Settings(database_url="sqlite://"))
    outcomes: list[Any] = [RuntimeError("a bug")] * 3 + [TickReport()]

    def step() -> TickReport:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    dialer.catch_up = step  # type: ignore[method-assign]  # the background loop's step
    dialer._stop = _CountingStop(rounds=4)  # type: ignore[assignment]

    with caplog.at_level("INFO", logger="ccaas_emulator.dialer"):
        dialer.run()

    failures = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(failures) == 1 and failures[0].exc_info is not None


def test_a_batch_part_in_database_trouble_is_its_own_503_and_the_batch_keeps_its_connection(read_only_client, settings):
    """A part's 503 says Retry-After inside the batch; `Connection` is about the HTTP connection, which the 200
    batch answer keeps open, so no part repeats it."""
    tokens = Tokens(read_only_client.app.state.runtime.keys, settings, real_now())
    boundary = "batch_trouble"
    parts = [
        f"POST {VOICE_ACTION} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{orjson.dumps(voice_body()).decode()}",
        f"GET {ENTITY_SET} HTTP/1.1\r\nAccept: application/json\r\n\r\n",
    ]
    body = "".join(
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{part}\r\n"
        for part in parts
    )
    body += f"--{boundary}--\r\n"

    response = read_only_client.post(
        "/api/data/v9.2/$batch",
        content=body.encode(),
        headers={
            **bearer(tokens.for_user("agent")),
            "Content-Type": f"multipart/mixed; boundary={boundary}",
            "Prefer": "odata.continue-on-error",
        },
    )

    assert response.status_code == 200, response.text
    assert "connection" not in response.headers
    heads = re.findall(r"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n(.*?)\r\n\r\n", response.text, re.S)
    assert [int(status) for status, _ in heads] == [503, 200]
    failed_head = heads[0][1].lower()
    assert "retry-after: 5" in failed_head
    assert "connection:" not in failed_head
