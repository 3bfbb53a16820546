"""The emulator as a new user runs it: `ccaas-emulator serve` in its own process, tokens from the CLI,
the reference samples posted over a real socket, rows read back from the database. SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import DeliveryAttribute, DeliveryTask, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from tests.support.postgres import create_postgres_database
from tests.support.samples import fixture_bytes
from tests.support.servers import CLI, Server, run_cli, start_server, stop

pytestmark = pytest.mark.slow  # each test starts `ccaas-emulator serve` in its own process


@pytest.fixture
def server(database_for_server: str) -> Iterator[Server]:
    server, process = start_server(database_for_server)
    try:
        yield server
    finally:
        stop(process)


def test_a_new_user_posts_every_reference_sample_and_finds_the_rows(server):
    token = server.token()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    with httpx.Client(base_url=server.base, headers=headers, timeout=10) as http:
        voice = http.post(
            "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery",
            content=fixture_bytes("000_voice_sample.json"),
        )
        chained = http.post(
            "/api/data/v9.2/CCaaS_CreateProactiveDelivery", content=fixture_bytes("001_voice_sample.json")
        )
        sms = http.post("/api/data/v9.2/CCaaS_CreateProactiveDelivery", content=fixture_bytes("001_sms_sample.json"))
        malformed = http.post(
            "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery",
            content=fixture_bytes("000_voice_sample_malformed.json"),
        )

    assert [voice.status_code, chained.status_code, sms.status_code, malformed.status_code] == [
        200,
        200,
        200,
        400,
    ]
    assert voice.json()["@odata.context"] == (
        f"{server.base}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveVoiceDeliveryResponse"
    )
    assert malformed.json()["error"]["code"] == "0x80048d19"
    database = Database(make_engine(server.database_url))  # type: ignore[attr-defined]
    try:
        with database.read() as session:
            delivery_ids = set(session.scalars(select(ProactiveDelivery.id)))
            attributes = session.scalar(select(func.count()).select_from(DeliveryAttribute))
            tasks = session.scalar(select(func.count()).select_from(DeliveryTask))
    finally:
        database.dispose()
    assert delivery_ids == {uuid.UUID(r.json()["DeliveryId"]) for r in (voice, chained, sms)}
    assert attributes == 3 + 2 + 2
    assert tasks == 2


def test_cli_tokens_cover_the_expired_and_the_roleless_cases(server):
    url = f"{server.base}/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
    body = fixture_bytes("000_voice_sample.json")

    def post(token: str) -> httpx.Response:
        return httpx.post(
            url,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    expired = post(server.token("--expires-in", "-3600"))
    foreign = post(server.token("--tenant", "11111111-1111-1111-1111-111111111111"))
    elsewhere = post(server.token("--audience", "https://fabrikam.crm.dynamics.com"))
    roleless = post(server.token("--user", "norole"))

    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "0x8005F101")
    assert foreign.status_code == 401 and "WWW-Authenticate" in foreign.headers
    assert elsewhere.status_code == 401
    assert (roleless.status_code, roleless.json()["error"]["code"]) == (403, "0x80040220")


def test_token_for_an_unknown_user_lists_the_seeded_ones(server):
    result = run_cli(server.env, "token", "--user", "nobody")

    assert result.returncode == 1
    assert "seeded users: admin, agent, norole, supervisor; applications: ccaas-demo-app" in result.stderr


def post_voice(server: Server, token: str, number: str) -> str:
    response = httpx.post(
        f"{server.base}/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery",
        json={"ApiVersion": "1.0", "ProactiveEngagementConfigId": "cbbac510-3e66-ef11-a671-6045bd03d9d8",
              "DestinationPhoneNumber": number, "ContactId": "761e062f-c734-ef11-8e4f-00224808a166"},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["DeliveryId"]


def wait_terminal(server: Server, ids: list[str], seconds: float = 60) -> dict[str, str]:
    database = Database(make_engine(server.database_url))  # type: ignore[attr-defined]
    deadline = time.monotonic() + seconds
    try:
        while True:
            with database.read() as session:
                rows = dict(session.execute(select(ProactiveDelivery.id, ProactiveDelivery.result).where(
                    ProactiveDelivery.id.in_([uuid.UUID(i) for i in ids]))).all())  # fmt: skip
            if len(rows) == len(ids) and all(rows.values()):
                return {str(key): value for key, value in rows.items()}
            assert time.monotonic() < deadline, rows
            time.sleep(0.2)
    finally:
        database.dispose()


def test_make_run_dials_in_process_on_its_running_clock(database_for_server):
    server, process = start_server(database_for_server, CCAAS_CLOCK_SPEED="120")
    try:
        token = server.token()
        ids = [post_voice(server, token, "+15005550001"), post_voice(server, token, "+15005550002")]

        results = wait_terminal(server, ids)

        assert [results[i] for i in ids] == ["LiveAnswer", "NoAnswer"]
    finally:
        stop(process)


@pytest.mark.postgres
def test_the_compose_topology_api_processes_without_dialer_and_a_separate_worker(postgres_admin_url):
    url, drop = create_postgres_database(postgres_admin_url)
    server, api = start_server(url, CCAAS_DIALER="off", CCAAS_WORKERS="2", CCAAS_CLOCK_SPEED="120")
    worker = subprocess.Popen([*CLI, "worker"], env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        token = server.token()
        ids = [post_voice(server, token, f"+1500555000{n}") for n in (1, 2, 3, 4)]

        results = wait_terminal(server, ids)

        assert [results[i] for i in ids] == ["LiveAnswer", "NoAnswer", "InvalidAddress", "CallFailed"]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        stop(api)
        drop()


def _raw_request(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("length", [33_000, 300_000])
def test_an_over_long_url_is_414_in_the_envelope_whoever_refuses_it(server, length):
    # 33 KB reaches the app (its 32 KB limit); 300 KB is refused by the HTTP parser itself.
    path = "/api/data/v9.2/msdyn_proactive_deliveries?$filter=" + "x" * length
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, headers, body = _raw_request(server.port, request.encode())

    assert status == 414
    assert headers["content-type"] == "application/json; odata.metadata=minimal"
    assert orjson.loads(body)["error"]["code"] == "0x80060888"


def test_bytes_that_are_not_http_get_a_400_envelope(server):
    status, headers, body = _raw_request(server.port, b"NOT HTTP AT ALL\r\n\r\n")

    assert status == 400
    assert headers["content-type"] == "application/json; odata.metadata=minimal"
    assert set(orjson.loads(body)) == {"error"}


def test_head_answers_with_the_headers_of_the_get_and_no_body(server):
    token = server.token()
    request = (
        "HEAD /api/data/v9.2/msdyn_proactive_engagement_configs?$select=msdyn_name HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    status, headers, body = _raw_request(server.port, request.encode())

    assert status == 200
    assert headers["content-type"] == "application/json; odata.metadata=minimal"
    assert int(headers["content-length"]) > 100 and body == b""
    assert headers["odata-version"] == "4.0"
