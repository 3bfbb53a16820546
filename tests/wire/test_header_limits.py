"""The request head is bounded in size and in time (issue 12), on a real `serve` over raw sockets.

Before: a 20 MiB header block was read whole and answered 200, and a connection that sent part of a request
(or nothing) stayed open for good. Now the fields are capped (64 KiB, 100 fields: 431 in the envelope, then the
connection closes) and the head must arrive within CCAAS_HEADER_TIMEOUT_SECONDS (408 when part of it came).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ccaas_emulator.wire.limits import MAX_HEADER_BYTES, MAX_HEADER_COUNT
from tests.support.servers import Server, start_server, stop

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = "1"  # seconds: the server's, so these tests wait about a second each
PATIENCE = 20.0  # seconds the test client waits for an answer before calling the server silent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database = Path(tmp_path_factory.mktemp("headers")) / "ccaas.db"
    served, process = start_server(
        f"sqlite:///{database}", CCAAS_HEADER_TIMEOUT_SECONDS=HEADER_TIMEOUT, CCAAS_DIALER="off"
    )
    yield served
    stop(process)


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def request(*fields: str) -> bytes:
    return ("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{f}\r\n" for f in fields) + "\r\n").encode()


def assert_refused(raw: bytes, status: int) -> dict[str, str]:
    code, headers, body = parse(raw)
    assert code == status, raw[:300]
    assert headers["content-type"].startswith("application/json")
    assert headers["odata-version"] == "4.0"
    assert headers["connection"] == "close"
    error = orjson.loads(body)["error"]
    assert error["code"] == "0x80060888"
    return error


def test_a_head_just_under_the_limit_is_served(server):
    with connect(server) as sock:
        sock.sendall(request(f"X-Pad: {'a' * (MAX_HEADER_BYTES - 1024)}", "Connection: close"))
        code, _, _ = parse(read_all(sock))
    assert code == 200


def test_header_fields_over_64_kib_are_refused_431_and_the_connection_closed(server):
    with connect(server) as sock:
        sock.sendall(request(f"X-Pad: {'a' * (MAX_HEADER_BYTES + 1)}"))
        error = assert_refused(read_all(sock), 431)
    assert "header fields are too large" in error["message"]


def test_more_than_100_header_fields_are_refused_431(server):
    with connect(server) as sock:
        sock.sendall(request(*(f"X-Field-{n}: {n}" for n in range(MAX_HEADER_COUNT + 1))))
        error = assert_refused(read_all(sock), 431)
    assert f"more than {MAX_HEADER_COUNT} fields" in error["message"]


def test_a_20_mib_header_block_is_not_read_to_its_end(server):
    line = b"X-Pad: " + b"a" * 8000 + b"\r\n"
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            while sent < 20 * 1024 * 1024:
                sock.sendall(line * 16)
                sent += len(line) * 16
            sock.sendall(b"\r\n")
            answer = read_all(sock)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""  # closed under the writer: refused either way
    assert sent < 20 * 1024 * 1024, "the server read the whole block"
    if answer:
        assert_refused(answer, 431)


def test_a_head_that_stops_half_way_gets_408_after_the_header_timeout(server):
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        error = assert_refused(read_all(sock), 408)
    assert "did not arrive within 1 seconds" in error["message"]


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server):
    with connect(server) as sock:
        assert read_all(sock) == b""


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(server):
    with connect(server) as sock:
        sock.sendall(request())
        first = sock.recv(65536)
        assert parse(first)[0] == 200
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        assert_refused(read_all(sock), 408)
