"""The control API's guard on a real `serve` process, over real sockets (issue 12)."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import Server, start_server, stop

pytestmark = pytest.mark.slow

LIMIT = 65_536


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    """On every interface, as the image runs, with the token that then must be set."""
    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}", CCAAS_HOST="0.0.0.0",
                                   CCAAS_CONTROL_TOKEN="s3cret", CCAAS_MAX_BODY_BYTES=str(LIMIT))  # fmt: skip
    try:
        yield server
    finally:
        stop(process)


def _response(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection or goes quiet for `timeout` seconds."""
    received = b""
    while select.select([sock], [], [], timeout)[0]:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        received += chunk
        if b"\r\n\r\n" in received and received.endswith(b"}"):
            break
    return received


def test_a_chunked_body_over_the_limit_is_refused_before_it_ends(served):
    # The probe's 200 MiB chunked body was read whole (140 MB -> 1.3 GB). Here the body never ends: only a
    # server that stops at the limit answers at all.
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"POST /emulator/v1/outcomes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        chunk = b"a" * 8192
        for _ in range(LIMIT // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = _response(sock, timeout=10)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert json.loads(body)["error"]["code"] == "0x80060888"


def test_on_every_interface_the_token_and_the_host_both_count(served):
    base, auth = served.base, {"Authorization": "Bearer s3cret"}

    assert httpx.get(f"{base}/emulator/v1/clock").status_code == 401
    assert httpx.get(f"{base}/emulator/v1/clock", headers=auth).status_code == 200
    rebound = httpx.post(f"{base}/emulator/v1/reset", headers={**auth, "Host": "attacker.example:8000",
                                                                "Content-Type": "application/json"})  # fmt: skip
    form = httpx.post(f"{base}/emulator/v1/reset", content="reseed=true", headers={
        **auth, "Origin": "https://attacker.example", "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "0x80048405"
    assert form.status_code == 403 and form.json()["error"]["code"] == "0x80048405"
