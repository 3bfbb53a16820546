"""Probe: the outside red-team probe of issue #12, replayed against a real `ccaas-emulator serve`.

    .venv/bin/python bench/probe.py               # SQLite (a file under var/probe/<UTC time>-sqlite/)
    .venv/bin/python bench/probe.py --postgres    # a throwaway database of CCAAS_TEST_POSTGRES_URL, dropped after

One `serve` (embedded dialer, CCAAS_DB_LOCK_TIMEOUT_SECONDS=2) on a free 127.0.0.1 port; every request goes to it
and to nothing else. Each case prints one line: what the probe found before the fixes (the issue's own figures),
what it measures now, PASS or FAIL. The cases, in the issue's order ("Why" 1-6):
    1 freeze     a $batch change set of many actions plus a part POST /emulator/v1/clock (--freeze-runs times):
                 the clock part is refused in the batch answer and a write still succeeds within 5 s
    2 control    a cross-site form POST to /emulator/v1/reset (deliveries counted before and after), a foreign
                 Host, a 20 MiB chunked body to /emulator/v1/outcomes (the server's VmRSS before and after)
    3 etag       20 concurrent PATCHes with one If-Match (--rounds rounds): exactly one 204 each; 20 concurrent
                 creates of one key (5 rounds): one winner, no 500
    4 trouble    a write waiting past the lock timeout (the probe holds the database's write lock: SQLite
                 BEGIN IMMEDIATE, PostgreSQL LOCK TABLE): 503 with Connection: close and the connection closed,
                 /ready 503 while SQLite's lock is held (200 while one PostgreSQL table is locked), 200 after
                 (a 503 is the 5xx the probe can provoke safely: no 500 is provoked)
    5 batch      a part URL %24batch, 30 levels of nesting, a 968 KB batch of nested parts: 400s, no 5xx, at
                 most 1,000 requests run, the log it costs
    6 smaller    duplicate JSON keys, a 20 MiB header block, a token whose nbf is a string, CORS for an Origin
and last, SIGTERM stops the server (the freeze had made it deaf to SIGTERM). Exit status 0 only when every case
passes; the server's log is kept under var/probe/.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.soak import CLI, descendants, free_port, sigkill_tree, wait_ready  # noqa: E402

API = "/api/data/v9.2"
VOICE = f"{API}/CCaaS_CreateProactiveVoiceDelivery"
DELIVERIES = f"{API}/msdyn_proactive_deliveries"
CONFIGS = f"{API}/msdyn_proactive_engagement_configs"
SAMPLE = json.loads((ROOT / "tests" / "fixtures" / "000_voice_sample.json").read_text())
ATTACKER = "https://attacker.example"
MIB = 1 << 20


# --- the server -----------------------------------------------------------------------------------------


@dataclass
class Served:
    """`ccaas-emulator serve` on a free loopback port, its log in `workdir`, and the two tokens."""

    database_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    agent: str = ""
    admin: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "serve.log"

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
        return env | {
            "CCAAS_DATABASE_URL": self.database_url,
            "CCAAS_HOST": "127.0.0.1",
            "CCAAS_PORT": str(self.port),
            "CCAAS_TLS_PORT": "0",
            "CCAAS_LOG_LEVEL": "warning",
            "CCAAS_DB_LOCK_TIMEOUT_SECONDS": "2",
            "CCAAS_LIMITS": "0",  # one token under load: probe the database's trouble, not the limits
        }

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = [*CLI, "serve"]
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)  # noqa: S603
        wait_ready(self.base, self.process, timeout=60, why=lambda: self.log.read_text(errors="replace")[-3000:])
        self.agent = self.token()
        self.admin = self.token("--user", "admin")

    def token(self, *args: str) -> str:
        command = [*CLI, "token", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"ccaas-emulator token failed: {result.stderr}")
        return result.stdout.strip()

    def rss_kib(self) -> int:
        """VmRSS of the server and every process below it, from /proc."""
        assert self.process is not None
        total = 0
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def stop(self) -> float | None:
        """SIGTERM; the seconds it took to exit, or None when only SIGKILL stopped it."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            sigkill_tree(self.process)
            return None
        return time.monotonic() - began


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


def voice_body(rng_number: int) -> dict[str, Any]:
    """The reference voice sample, a new number and a window open now (so the dialer has work)."""
    now = datetime.now(UTC)
    window = {
        "Start": f"{now - timedelta(minutes=1):%Y-%m-%dT%H:%M:%S}.000Z",
        "End": f"{now + timedelta(hours=6):%Y-%m-%dT%H:%M:%S}.000Z",
    }
    return SAMPLE | {"DestinationPhoneNumber": f"+1555{rng_number % 10_000_000:07d}", "Windows": [window]}


def delivery_count(served: Served) -> int:
    answer = httpx.get(f"{served.base}{DELIVERIES}/$count", headers=auth(served.agent), timeout=30)
    answer.raise_for_status()
    return int(answer.text.strip().lstrip("\ufeff"))


def raw_exchange(
    port: int, head: bytes, feed: Callable[[], bytes | None], *, wait: float = 30
) -> tuple[bytes, int, bool]:
    """Send `head`, then whatever `feed` yields until it yields None or the server answers; read the answer.
    Returns (answer, bytes sent after the head, whether the server then closed the connection)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head)
        try:
            while not select.select([sock], [], [], 0)[0]:
                chunk = feed()
                if chunk is None:
                    break
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer, closed = b"", False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and select.select([sock], [], [], deadline - time.monotonic())[0]:
            try:
                data = sock.recv(65_536)
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            answer += data
            head_end = answer.find(b"\r\n\r\n")
            if head_end >= 0:
                length = re.search(rb"(?im)^content-length:\s*(\d+)", answer[:head_end])
                if length and len(answer) >= head_end + 4 + int(length.group(1)):
                    # The whole answer is here: did the server close after it? (a short wait says)
                    if select.select([sock], [], [], 2)[0]:
                        try:
                            closed = sock.recv(1) == b""
                        except ConnectionResetError:  # closed with our unread bytes in its buffer
                            closed = True
                    break
    return answer, sent, closed


def status_of(answer: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(match.group(1)) if match else 0


def header_of(answer: bytes, name: str) -> str:
    match = re.search(rb"(?im)^" + name.encode() + rb":\s*([^\r\n]*)", answer.partition(b"\r\n\r\n")[0])
    return match.group(1).decode() if match else ""


# --- $batch bodies (as tests/odata/test_batch.py builds them) -------------------------------------------


def multipart(boundary: str, parts: list[str]) -> str:
    return "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"


def request_part(method: str, url: str, body: dict[str, Any] | None = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    lines = f"{method} {url} HTTP/1.1\r\nAccept: application/json\r\n"
    if body is not None:
        lines += "Content-Type: application/json; type=entry\r\n\r\n" + json.dumps(body)
    else:
        lines += "\r\n"
    return head + "\r\n" + lines


def change_set(boundary: str, parts: list[str]) -> str:
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n" + multipart(boundary, parts).rstrip("\r\n")


def batch_part(url: str, body: str, boundary: str) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    return f"{head}POST {url} HTTP/1.1\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n{body}"


def nested_batch(depth: int, *, url: str = "%24batch") -> str:
    boundary = f"batch_L{depth}_"
    body = multipart(boundary, [request_part("GET", "msdyn_proactive_deliveries/$count")])
    for level in range(depth - 1, -1, -1):
        outer = "batch_AAA123" if level == 0 else f"batch_L{level}_"
        body = multipart(outer, [batch_part(url, body, boundary)])
        boundary = outer
    return body


def post_batch(served: Served, body: str, *, timeout: float = 120, **extra: str) -> httpx.Response:
    headers = auth(served.admin, **extra) | {"Content-Type": "multipart/mixed; boundary=batch_AAA123"}
    return httpx.post(f"{served.base}{API}/$batch", content=body.encode(), headers=headers, timeout=timeout)


def part_statuses(response: httpx.Response) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", response.content)]


# --- the cases ------------------------------------------------------------------------------------------


@dataclass
class Line:
    case: str
    before: str
    now: str
    ok: bool


def case_freeze(served: Served, runs: int) -> list[Line]:
    lines: list[Line] = []
    refused = 0
    worst_write = 0.0
    failures: list[str] = []
    for run in range(runs):
        actions = [request_part("POST", VOICE, voice_body(run * 1000 + i), str(i + 1)) for i in range(50)]
        clock = request_part("POST", "/emulator/v1/clock", {"advance": "PT1H"}, "99")
        body = multipart("batch_AAA123", [change_set(f"changeset_{run}", [*actions, clock])])
        try:
            answer = post_batch(served, body, timeout=60)
            statuses = part_statuses(answer)
            if answer.status_code < 500 and 400 in statuses and "service root" in answer.text:
                refused += 1
            else:
                failures.append(f"run {run + 1}: {answer.status_code} parts {statuses[:5]}")
        except httpx.TransportError as error:
            failures.append(f"run {run + 1}: batch got no answer ({type(error).__name__})")
        began = time.monotonic()
        try:
            write = httpx.post(f"{served.base}{VOICE}", json=voice_body(run), headers=auth(served.agent), timeout=5)
            took = time.monotonic() - began
            worst_write = max(worst_write, took)
            if write.status_code != 200:
                failures.append(f"run {run + 1}: write after it {write.status_code}")
        except httpx.TransportError:
            failures.append(f"run {run + 1}: write after it timed out (5 s)")
    now = f"clock part refused 400 in {refused}/{runs} runs; a write after each: slowest {worst_write:.2f} s"
    if failures:
        now += "; " + ", ".join(failures)
    lines.append(Line("1 freeze: change set + clock part", "hung 3 of 4 runs; writes then timed out for good",
                      now, refused == runs and not failures))  # fmt: skip
    return lines


def case_control(served: Served) -> list[Line]:
    lines: list[Line] = []
    for i in range(3):  # some deliveries for the reset to wipe
        httpx.post(f"{served.base}{VOICE}", json=voice_body(900_000 + i), headers=auth(served.agent), timeout=30)
    before = delivery_count(served)
    form = httpx.post(f"{served.base}/emulator/v1/reset", content=b"reseed=true", timeout=30,
                      headers={"Origin": ATTACKER, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    after = delivery_count(served)
    lines.append(Line("2 control: cross-site form reset", "wiped 4,281 deliveries",
                      f"{form.status_code}; deliveries {before} -> {after}",
                      form.status_code in (403, 415) and after == before > 0))  # fmt: skip
    rebound = httpx.post(f"{served.base}/emulator/v1/reset", timeout=30,
                         headers={"Host": "attacker.example", "Content-Type": "application/json"})  # fmt: skip
    after_host = delivery_count(served)
    lines.append(Line("2 control: Host attacker.example", "any Host accepted (DNS rebinding worked)",
                      f"{rebound.status_code}; deliveries {before} -> {after_host}",
                      rebound.status_code == 403 and after_host == before))  # fmt: skip

    rss_before = served.rss_kib()
    chunk = b"a" * 65_536
    budget = [20 * MIB]

    def feed() -> bytes | None:
        if budget[0] <= 0:
            return None
        budget[0] -= len(chunk)
        return b"%x\r\n%s\r\n" % (len(chunk), chunk)

    head = (b"POST /emulator/v1/outcomes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    answer, sent, _ = raw_exchange(served.port, head, feed)
    rss_after = served.rss_kib()
    grew = (rss_after - rss_before) / 1024
    lines.append(Line("2 control: 20 MiB chunked body", "read whole (200 MiB: 140 MB -> 1.3 GB RSS)",
                      f"{status_of(answer)} after {sent / MIB:.1f} MiB sent; RSS {rss_before / 1024:.0f} -> "
                      f"{rss_after / 1024:.0f} MB", status_of(answer) == 413 and grew < 50))  # fmt: skip
    return lines


async def _race(served: Served, requests: list[tuple[str, str, dict[str, str], dict[str, Any]]]) -> list[int]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=served.base, timeout=60, limits=limits) as client:
        answers = await asyncio.gather(
            *(client.request(method, url, headers=headers, json=body) for method, url, headers, body in requests),
            return_exceptions=True,
        )
    return [answer.status_code if isinstance(answer, httpx.Response) else 0 for answer in answers]


def case_etag(served: Served, rounds: int) -> list[Line]:
    created = httpx.post(
        f"{served.base}{CONFIGS}", json={"msdyn_name": "probe"}, headers=auth(served.admin), timeout=30
    )
    assert created.status_code == 204, created.text
    config = re.search(r"\(([0-9a-f-]{36})\)", created.headers["OData-EntityId"]).group(1)  # type: ignore[union-attr]
    url = f"{CONFIGS}({config})"
    single = 0
    winners_total = 0
    statuses_seen: set[int] = set()
    first = httpx.get(f"{served.base}{url}", headers=auth(served.admin), timeout=30).json()
    for round_ in range(rounds):
        etag = httpx.get(f"{served.base}{url}", headers=auth(served.admin), timeout=30).json()["@odata.etag"]
        requests = [("PATCH", url, auth(served.admin, **{"If-Match": etag}), {"msdyn_name": f"r{round_} w{i}"})
                    for i in range(20)]  # fmt: skip
        statuses = asyncio.run(_race(served, requests))
        statuses_seen |= set(statuses)
        winners = statuses.count(204)
        winners_total += winners
        single += winners == 1 and statuses.count(412) == 19
    last = httpx.get(f"{served.base}{url}", headers=auth(served.admin), timeout=30).json()
    versions = f"versionnumber {first.get('versionnumber')} -> {last.get('versionnumber')}"
    lines = [Line(f"3 etag: 20 PATCH x {rounds} rounds", "7 of 15 rounds 2+ winners (25 x 204, version 1 -> 16)",
                  f"{single}/{rounds} rounds exactly one 204 (+19 x 412), {winners_total} x 204; {versions}",
                  single == rounds)]  # fmt: skip

    create_rounds, clean, five_xx = 5, 0, 0
    for _ in range(create_rounds):
        key = str(uuid.uuid4())
        body = {"msdyn_proactive_engagement_configid": key, "msdyn_name": "probe create"}
        statuses = asyncio.run(_race(served, [("POST", CONFIGS, auth(served.admin), body)] * 20))
        five_xx += sum(status >= 500 or status == 0 for status in statuses)
        clean += statuses.count(204) == 1 and statuses.count(412) == 19
    lines.append(Line(f"3 etag: 20 creates x {create_rounds} keys", "500 UniqueViolation",
                      f"{clean}/{create_rounds} keys one 204 + 19 x 412; {five_xx} x 5xx",
                      clean == create_rounds and five_xx == 0))  # fmt: skip
    return lines


@contextlib.contextmanager
def write_lock_held(database_url: str):  # type: ignore[no-untyped-def]
    """The probe's own connection holds the write lock on the deliveries (the throwaway database only)."""
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    import psycopg

    with psycopg.connect(database_url) as holder:
        holder.execute("LOCK TABLE msdyn_proactive_delivery IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


def case_trouble(served: Served) -> list[Line]:
    body = json.dumps(voice_body(777)).encode()
    head = (f"POST {VOICE} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {served.agent}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    with write_lock_held(served.database_url):
        answer, _, closed = raw_exchange(served.port, head, lambda: None)
        ready_locked = httpx.get(f"{served.base}/ready", timeout=30).status_code
    status, connection = status_of(answer), header_of(answer, "Connection").lower()
    # SQLite's lock is the whole database's, so /ready's own write waits too; on PostgreSQL only the deliveries
    # table is locked and /ready's write (alembic_version) goes through: the database does accept writes.
    sqlite = served.database_url.startswith("sqlite")
    ready_expected = 503 if sqlite else 200
    ready = httpx.get(f"{served.base}/ready", timeout=30).status_code
    write = httpx.post(f"{served.base}{VOICE}", json=voice_body(778), headers=auth(served.agent), timeout=30)
    return [
        Line(
            "4 trouble: write past lock timeout",
            "500, next request unanswered; /ready 200 while blocked",
            f"{status} Connection: {connection or '-'}, closed {'yes' if closed else 'no'}; "
            f"/ready {ready_locked} while {'the database' if sqlite else 'the table'} is locked; "
            f"after, /ready {ready}, a write {write.status_code}",
            status == 503
            and connection == "close"
            and closed
            and ready_locked == ready_expected
            and ready == 200
            and write.status_code == 200,
        )
    ]


def case_batch(served: Served) -> list[Line]:
    lines: list[Line] = []
    spelled = post_batch(served, nested_batch(1))
    inner = part_statuses(spelled)
    lines.append(
        Line(
            "5 batch: part URL %24batch",
            "passed the no-batch-in-a-batch check",
            f"{spelled.status_code}, part {inner}",
            spelled.status_code == 400 and inner == [400],
        )
    )

    log_before = served.log.stat().st_size
    deep = post_batch(served, nested_batch(30))
    time.sleep(0.5)
    logged = served.log.stat().st_size - log_before
    lines.append(Line("5 batch: 30 levels of nesting", "RecursionError 500, ~3 MB of log per 5 KB request",
                      f"{deep.status_code}, parts {part_statuses(deep)}; {logged} bytes logged",
                      deep.status_code == 400 and part_statuses(deep) == [400] and logged < 5_000))  # fmt: skip

    # The probe's shape: nested batches of 1000 small GETs each, as many as 968 KB holds (11 then: 11,011 requests).
    small = "Content-Type: application/http\r\n\r\nGET systemusers HTTP/1.1\r\n\r\n"
    inner_body = multipart("b", [small] * 1000)
    nested = batch_part("%24batch", inner_body, "b")
    count = 1
    while len(multipart("batch_AAA123", [nested] * (count + 1))) <= 968 * 1024:
        count += 1
    body = multipart("batch_AAA123", [nested] * count)
    big = post_batch(served, body, Prefer="odata.continue-on-error")
    statuses = part_statuses(big)
    ran = sum(200 <= status < 300 for status in statuses)
    lines.append(
        Line(
            f"5 batch: {len(body) / 1000:.0f} KB of {count} x 1000 nested",
            "ran 11,011 requests (cap 1,000)",
            f"{big.status_code}, {len(statuses)} answers ({ran} x 2xx, {sum(s >= 500 for s in statuses)} x 5xx): "
            f"{ran} requests ran",
            big.status_code < 500 and ran <= 1000 and len(statuses) <= 1000 and all(s < 500 for s in statuses),
        )
    )
    return lines


def resigned(served: Served, change: dict[str, Any]) -> str:
    """The agent's token with `change` applied to its claims, signed again with the server's own key."""
    import jwt
    from sqlalchemy import create_engine, text

    header_b64, payload_b64, _ = served.agent.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))) | change
    url = served.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            pem = connection.execute(
                text("SELECT private_key_pem FROM emulator_signing_key WHERE kid = :kid"), {"kid": header["kid"]}
            ).scalar_one()
    finally:
        engine.dispose()
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": header["kid"], "typ": header.get("typ", "JWT")})


def case_smaller(served: Served) -> list[Line]:
    lines: list[Line] = []
    body = json.dumps(voice_body(555))[:-1] + ', "DestinationPhoneNumber": "+15550001111"}'
    duplicate = httpx.post(f"{served.base}{VOICE}", content=body.encode(), headers=auth(served.agent), timeout=30)
    message = duplicate.json().get("error", {}).get("message", "") if duplicate.status_code >= 400 else ""
    lines.append(Line("6 duplicate JSON keys", "last one wins, 200",
                      f"{duplicate.status_code}: " + (re.findall(r"Multiple [^.]*\.", message) or [message[:80]])[0],
                      duplicate.status_code == 400 and "DestinationPhoneNumber" in message))  # fmt: skip

    budget = [20 * MIB]
    counter = [0]

    def feed() -> bytes | None:
        if budget[0] <= 0:
            return None
        counter[0] += 1
        line = b"X-Pad-%d: %s\r\n" % (counter[0], b"a" * 8000)
        budget[0] -= len(line)
        return line

    answer, sent, closed = raw_exchange(served.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n", feed)
    lines.append(Line("6 20 MiB header block", "200, no limit",
                      f"{status_of(answer)} after {sent / 1024:.0f} KiB sent, Connection: "
                      f"{header_of(answer, 'Connection')}, closed {'yes' if closed else 'no'}",
                      status_of(answer) == 431))  # fmt: skip

    nbf = int(time.time()) - 60
    numeric = httpx.get(f"{served.base}{DELIVERIES}/$count", timeout=30,
                        headers=auth(resigned(served, {"nbf": nbf})))  # fmt: skip
    stringy = httpx.get(f"{served.base}{DELIVERIES}/$count", timeout=30,
                        headers=auth(resigned(served, {"nbf": str(nbf)})))  # fmt: skip
    lines.append(Line('6 token with "nbf": "<string>"', "accepted",
                      f"{stringy.status_code} (the same token with a numeric nbf: {numeric.status_code})",
                      stringy.status_code == 401 and numeric.status_code == 200))  # fmt: skip

    cross = httpx.get(f"{served.base}{DELIVERIES}/$count", headers=auth(served.agent, Origin=ATTACKER), timeout=30)
    preflight = httpx.options(f"{served.base}{DELIVERIES}", timeout=30, headers={
        "Origin": ATTACKER, "Access-Control-Request-Method": "PATCH"})  # fmt: skip
    allowed = [r.headers.get("Access-Control-Allow-Origin") for r in (cross, preflight)]
    lines.append(Line("6 CORS by default", "no CORS (now an allow-list, empty by default)",
                      f"GET {cross.status_code}, preflight {preflight.status_code}; Allow-Origin {allowed}",
                      cross.status_code == 200 and allowed == [None, None]))  # fmt: skip
    return lines


# --- the run --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="a throwaway database of CCAAS_TEST_POSTGRES_URL")
    parser.add_argument("--freeze-runs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the If-Match race")
    args = parser.parse_args()
    backend = "postgres" if args.postgres else "sqlite"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = ROOT / "var" / "probe" / f"{stamp}-{backend}"
    workdir.mkdir(parents=True, exist_ok=True)
    if args.postgres:
        from tests.support.postgres import POSTGRES_URL, create_postgres_database

        database_url, drop = create_postgres_database(POSTGRES_URL)
    else:
        database_url, drop = f"sqlite:///{workdir / 'ccaas.db'}", (lambda: None)
    print(f"probe: {backend}, serve on 127.0.0.1, log in {workdir}")
    served = Served(database_url, workdir)
    lines: list[Line] = []
    began = time.monotonic()
    try:
        served.start()
        for case in (
            lambda: case_freeze(served, args.freeze_runs),
            lambda: case_control(served),
            lambda: case_etag(served, args.rounds),
            lambda: case_trouble(served),
            lambda: case_batch(served),
            lambda: case_smaller(served),
        ):
            try:
                found = case()
            except Exception as error:  # a case that breaks is a FAIL line, and the others still run
                found = [Line("(a case raised)", "", f"{type(error).__name__}: {error}"[:200], False)]
            for line in found:
                lines.append(line)
                verdict = "PASS" if line.ok else "FAIL"
                print(f"{line.case:<36} before: {line.before:<56} now: {line.now}  {verdict}", flush=True)
    finally:
        stopped = served.stop()
        drop()
    lines.append(
        Line(
            "SIGTERM stops the server",
            "the freeze left it deaf to SIGTERM (SIGKILL only)",
            "SIGKILL needed" if stopped is None else f"exited in {stopped:.1f} s",
            stopped is not None,
        )
    )
    line = lines[-1]
    print(f"{line.case:<36} before: {line.before:<56} now: {line.now}  {'PASS' if line.ok else 'FAIL'}")
    passed = sum(line.ok for line in lines)
    print(f"probe {backend}: {passed}/{len(lines)} PASS in {time.monotonic() - began:.0f} s")
    sys.exit(0 if passed == len(lines) else 1)


if __name__ == "__main__":
    main()
