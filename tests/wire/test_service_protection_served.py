"""Service protection limits and fault injection on a real `serve` process, over real sockets, in real time
(issue 15: "a test exceeds a lowered request limit and gets 429 + Retry-After, then succeeds after waiting; the
concurrency limit refuses the 53rd concurrent request; fault injection fails exactly N")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import Server, start_server, stop

pytestmark = pytest.mark.slow

SERVICE_DOCUMENT = "/api/data/v9.2/"


@pytest.fixture
def lowered(tmp_path: Path) -> Iterator[Server]:
    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}", CCAAS_LIMIT_REQUESTS="3",
                                   CCAAS_LIMIT_WINDOW_SECONDS="2")  # fmt: skip
    try:
        yield server
    finally:
        stop(process)


@pytest.fixture
def default_limits(tmp_path: Path) -> Iterator[Server]:
    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}")
    try:
        yield server
    finally:
        stop(process)


def test_a_lowered_request_limit_answers_429_with_retry_after_then_admits_after_the_wait(lowered):
    headers = {"Authorization": f"Bearer {lowered.token()}"}
    with httpx.Client(base_url=lowered.base, headers=headers, timeout=10) as client:
        admitted = [client.get(SERVICE_DOCUMENT) for _ in range(3)]
        refused = client.get(SERVICE_DOCUMENT)
        retry_after = int(refused.headers["Retry-After"])
        time.sleep(retry_after)
        after_waiting = client.get(SERVICE_DOCUMENT)

    assert [answer.status_code for answer in admitted] == [200, 200, 200]
    assert [answer.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] for answer in admitted] == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 3 over time window of 2 seconds.",
    }
    assert 1 <= retry_after <= 2
    assert after_waiting.status_code == 200


def test_the_53rd_concurrent_request_is_refused_at_once_while_52_are_held_open_by_a_delay_fault(default_limits):
    server = default_limits
    headers = {"Authorization": f"Bearer {server.token()}"}
    armed = httpx.post(f"{server.base}/emulator/v1/faults", json={"delayMs": 8000, "count": 52}, timeout=10)
    assert armed.status_code == 201, armed.text

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, float]:
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
        async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30, limits=limits) as client:
            held = [asyncio.create_task(client.get(SERVICE_DOCUMENT)) for _ in range(52)]
            deadline = time.monotonic() + 6
            while (await client.get("/emulator/v1/faults")).json()["value"]:  # until all 52 have taken the delay
                assert time.monotonic() < deadline, "the 52 requests did not all arrive"
                await asyncio.sleep(0.05)
            started = time.monotonic()
            extra = await client.get(SERVICE_DOCUMENT)
            took = time.monotonic() - started
            return list(await asyncio.gather(*held)), extra, took

    held, extra, took = asyncio.run(scenario())

    assert extra.status_code == 429
    assert extra.json()["error"] == {
        "code": "0x80072326",
        "message": "Number of concurrent requests exceeded the limit of 52.",
    }
    assert extra.headers["Retry-After"] == "1"
    assert took < 2  # refused at once, not after the held requests end
    assert [answer.status_code for answer in held] == [200] * 52
    with httpx.Client(base_url=server.base, headers=headers, timeout=10) as client:
        assert client.get(SERVICE_DOCUMENT).status_code == 200


def test_fault_injection_fails_exactly_n_requests_of_a_real_client(default_limits):
    server = default_limits
    headers = {"Authorization": f"Bearer {server.token()}"}
    with httpx.Client(base_url=server.base, timeout=10) as client:
        assert client.post("/emulator/v1/faults", json={"status": 429, "count": 3, "retryAfter": 2}).status_code == 201
        answers = [client.get(SERVICE_DOCUMENT, headers=headers) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [429, 429, 429, 200]
    assert {answer.headers["Retry-After"] for answer in answers[:3]} == {"2"}
