"""`ccaas-emulator upload` against a real `serve` process: an admin's "Run from file" contact list streamed over a real
socket through the CLI; a file over 10 MB and a PDF refused with nothing stored.

The file here has ROWS rows so the suite stays short; the 100,000-row (~10 MB) upload is bench/upload.py, whose
figures are in docs/benchmarks.md."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.demo import DEMO_VOICE_CONFIG
from tests.support.servers import CLI, Server, start_server, stop
from tests.support.uploads import HEADER, bad_lines, count_stored, write_contacts

pytestmark = pytest.mark.slow

ROWS = 5_000
BAD_LINES = bad_lines(ROWS)
LIMIT = 10 * 1024 * 1024


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    # The dialer is off so the deliveries stay Pending to be counted.
    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}", CCAAS_DIALER="off")
    try:
        yield server
    finally:
        stop(process)


def _upload(server: Server, path: Path) -> subprocess.CompletedProcess[str]:
    # The CLI finds the server as `serve` does: CCAAS_HOST and CCAAS_PORT of the same environment.
    return subprocess.run([*CLI, "upload", str(path), "--config", DEMO_VOICE_CONFIG], env=server.env,
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip


def _stored(server: Server) -> tuple[int, int]:
    return count_stored(server.database_url)  # type: ignore[attr-defined]


def test_a_contact_list_uploads_through_the_cli_and_refusals_store_nothing(served, tmp_path):
    contacts = tmp_path / "contacts.csv"
    write_contacts(contacts, ROWS)
    before = _stored(served)

    started = time.monotonic()
    result = _upload(served, contacts)
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout)
    assert answer["accepted"] == ROWS - len(BAD_LINES)
    assert answer["rejectedCount"] == len(BAD_LINES)
    assert [item["line"] for item in answer["rejected"]] == sorted(BAD_LINES)
    for item in answer["rejected"]:
        assert BAD_LINES[item["line"]] in item["reason"]
    assert "uploading contacts.csv" in result.stderr  # the progress bar
    after = _stored(served)
    assert after[0] - before[0] == ROWS - len(BAD_LINES)  # every good row is a pending delivery
    assert after[1] - before[1] == ROWS - len(BAD_LINES)
    print(f"\n{ROWS:,}-row upload ({contacts.stat().st_size:,} bytes) through the CLI: {elapsed:.1f} s")

    too_large = tmp_path / "too-large.csv"
    with too_large.open("w") as out:  # refused by the size the CLI declares, before a row is read
        out.write(HEADER)
        row = 0
        while out.tell() <= LIMIT + 1_000_000:
            out.write("".join(f"MORE-{n:07d},A,B,+1555{n:07d},,,,\n" for n in range(row, row + 10_000)))
            row += 10_000
    assert too_large.stat().st_size > LIMIT
    refused = _upload(served, too_large)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "0x80060888"
    assert "nothing was stored" in refused.stderr

    pdf = tmp_path / "contacts.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" * 50)
    not_csv = _upload(served, pdf)
    assert not_csv.returncode == 1
    assert "The file is not a CSV file" in json.loads(not_csv.stdout)["error"]["message"]
    assert _stored(served) == after


def test_an_upload_that_stalls_is_dropped_with_408_and_stores_nothing(tmp_path):
    # The upload holds a transaction (on SQLite the write lock) while it reads: a client that stops sending must
    # not hold it for ever.
    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}", CCAAS_DIALER="off",
                                   CCAAS_UPLOAD_IDLE_SECONDS="1")  # fmt: skip
    try:
        before = _stored(server)
        head = (f"POST /emulator/v1/engagements/{DEMO_VOICE_CONFIG}/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\n")  # fmt: skip
        rows = "UniqueIdentifier,MobilePhoneNumber\n" + "".join(f"S-{n},+1555{n:07d}\n" for n in range(2000))
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head.encode() + rows.encode())  # then nothing more, though 100,000 bytes were announced
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = sock.recv(65_536)
                if not chunk:
                    break
                answer += chunk
        status, _, body = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert "CCAAS_UPLOAD_IDLE_SECONDS" in json.loads(body)["error"]["message"]
        assert _stored(server) == before
    finally:
        stop(process)


def test_an_upload_whose_client_goes_away_midway_leaves_nothing_and_frees_the_database(tmp_path):
    server, process = start_server(f"sqlite:///{tmp_path / 'ccaas.db'}", CCAAS_DIALER="off")
    try:
        before = _stored(server)
        rows = "UniqueIdentifier,MobilePhoneNumber\n" + "".join(f"G-{n},+1555{n:07d}\n" for n in range(20_000))
        head = (f"POST /emulator/v1/engagements/{DEMO_VOICE_CONFIG}/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: text/csv\r\nContent-Length: {len(rows) * 2}\r\n\r\n")  # fmt: skip
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head.encode() + rows.encode())  # half the announced body, then the connection closes
            time.sleep(1)
        small = tmp_path / "small.csv"
        small.write_text("UniqueIdentifier,MobilePhoneNumber\nAFTER-1,+15550999\n")
        # The next upload waits for the abandoned one to roll back (SQLite's write lock), then goes through.
        result = _upload(server, small)
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(result.stdout)["accepted"] == 1
        assert _stored(server) == (before[0] + 1, before[1] + 1)
    finally:
        stop(process)
