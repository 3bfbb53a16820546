"""Soak: a steady, bounded, loopback-only load of mixed actions and queries against a real `ccaas-emulator serve`.

    .venv/bin/python bench/soak.py --backend sqlite   --rate 200 --duration 600     # make soak runs both
    .venv/bin/python bench/soak.py --backend postgres --rate 200 --duration 600
    .venv/bin/python bench/soak.py --backend sqlite   --rate 50  --duration 20      # a quick look

What runs (each run on a fresh database, its logs under var/soak/<UTC time>-<backend>/):
    sqlite    `ccaas-emulator serve` (1 process) with the embedded dialer
    postgres  `ccaas-emulator serve --workers 2` with CCAAS_DIALER=off and one `ccaas-emulator worker`,
              on a throwaway database of CCAAS_TEST_POSTGRES_URL (tests/support/postgres.py), dropped afterwards
              unless --keep
both with the clock running at CCAAS_CLOCK_SPEED (--clock-speed, default 60) so deliveries move while we load.

The client is an aiohttp driver on a fixed-rate schedule (open loop: request n is sent at start + n/rate
whatever the previous ones are doing), bounded by --duration, by rate x duration requests and by --max-in-flight
concurrent requests (a request that would exceed it is not sent and counted as `skipped`). Only 127.0.0.1.

The mix (seeded by --seed), every body built from the reference samples of tests/fixtures/ with their phone
numbers varied, a third of the windows open now, half in the future (opening within the next hours of
simulated time), the rest the samples' own (past) windows:
    30 %  CCaaS_CreateProactiveVoiceDelivery   000_voice_sample.json (1 in 10 on a magic number)
    20 %  CCaaS_CreateProactiveDelivery        001_voice_sample.json (new RequestId, contact and attributes;
                                               1 in 10 keeps the sample's contact, so upserts collide)
     5 %  CCaaS_CreateProactiveDelivery        001_sms_sample.json
    20 %  GET msdyn_proactive_deliveries?$filter=...&$top=50   (status, status and result, a number, createdon)
    10 %  GET msdyn_proactive_deliveries(<an acknowledged id>)
     5 %  GET msdyn_proactive_deliveries/$count
    10 %  GET msdyn_proactive_deliveries(<id>)?$expand=<its attributes>  (compared with what was sent)

Every request is one JSON line in client.jsonl (kind, status or transport error, latency, and for the
actions the acknowledged DeliveryId/DeliveryTaskId with what was sent). bench/check_soak.py then compares
that log with the tables and prints the figures; the exit status is 1 when anything is missing or a 5xx
was answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import aiohttp
import httpx
from yarl import URL

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures"
CLI = [sys.executable, "-m", "ccaas_emulator"]
API = "/api/data/v9.2"
EXPAND = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
MIX = {"voice": 30, "chain": 20, "sms": 5, "list": 20, "get": 10, "count": 5, "expand": 10}
ACTIONS = ("voice", "chain", "sms")
JSON_CONTENT = {"Content-Type": "application/json"}


# --- processes ------------------------------------------------------------------------------------------


def wait_ready(base: str, process: subprocess.Popen[bytes], *, timeout: float, why: Callable[[], str]) -> None:
    """Until `base`/ready answers 200; raises with `why()` (a log tail) if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"serve did not become ready: {why()}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (uvicorn's worker processes and whatever they started), from /proc."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def sigkill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and everything below it, by id (the parent first, so it cannot respawn a child)."""
    tree = [process.pid, *descendants(process.pid)]
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(10)
    # uvicorn's children notice their parent is gone only when it tells them; make sure they are gone too.
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in tree[1:]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {tree[1:]} survived SIGKILL")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def terminate(process: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        sigkill_tree(process)


@dataclass
class Cluster:
    """The emulator's processes on one database: `serve` (embedded dialer, or CCAAS_DIALER=off with `workers`
    API processes) and, in the split topology, one `ccaas-emulator worker`. Each can be SIGKILLed and
    restarted on the same port; every start appends to its log file in `workdir`."""

    database_url: str
    workdir: Path
    split: bool = False
    api_workers: int = 1
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    starts: dict[str, int] = field(default_factory=lambda: {"api": 0, "worker": 0})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
        return (
            env
            | {
                "CCAAS_DATABASE_URL": self.database_url,
                "CCAAS_HOST": "127.0.0.1",
                "CCAAS_PORT": str(self.port),
                "CCAAS_TLS_PORT": "0",
                "CCAAS_LOG_LEVEL": "warning",
                "CCAAS_DIALER": "off" if self.split else "embedded",
                # One token at 200 req/s is far over 6,000 per 300 s: the load measures the server, not the limits.
                "CCAAS_LIMITS": "0",
            }
            | self.settings
        )

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        log = (self.workdir / f"{name}.log").open("ab")
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        log.write(f"--- {stamp} start #{self.starts[name]}: {' '.join(args)}\n".encode())
        log.flush()
        try:
            return subprocess.Popen([*CLI, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)  # noqa: S603
        finally:
            log.close()

    def start_api(self, timeout: float = 60) -> None:
        args = ["serve"] + (["--workers", str(self.api_workers)] if self.api_workers > 1 else [])
        self.api = self._spawn("api", args)
        wait_ready(self.base, self.api, timeout=timeout, why=lambda: self.log_tail("api"))

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", ["worker"])

    def start(self) -> None:
        self.start_api()
        if self.split:
            self.start_worker()

    def kill_api(self) -> None:
        assert self.api is not None
        sigkill_tree(self.api)

    def kill_worker(self) -> None:
        assert self.worker is not None
        sigkill_tree(self.worker)

    def stop(self) -> None:
        terminate(self.worker)
        terminate(self.api)

    def token(self, *args: str) -> str:
        command = [*CLI, "token", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"ccaas-emulator token failed: {result.stderr}")
        return result.stdout.strip()

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def make_database(backend: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    """A fresh database for one run: a SQLite file in `workdir`, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'ccaas.db'}", lambda: None
    from tests.support.postgres import POSTGRES_URL, create_postgres_database

    return create_postgres_database(POSTGRES_URL)


# --- request bodies -------------------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class EmulatorClock:
    """The emulator's simulated time as the client estimates it (read once, then run at the same speed)."""

    def __init__(self, base: str) -> None:
        body = httpx.get(f"{base}/emulator/v1/clock", timeout=10).json()
        self.anchor = datetime.fromisoformat(body["now"].replace("Z", "+00:00"))
        self.speed = float(body["speed"])
        self.real_anchor = time.monotonic()

    def now(self) -> datetime:
        return self.anchor + timedelta(seconds=(time.monotonic() - self.real_anchor) * self.speed)


class Bodies:
    """Request bodies from the reference samples: varied numbers, contacts, attributes and windows."""

    def __init__(self, rng: random.Random, clock: EmulatorClock, *, few_openings: bool = False) -> None:
        self.rng, self.clock, self.few_openings = rng, clock, few_openings
        self.voice = json.loads((FIXTURES / "000_voice_sample.json").read_text())
        self.chain = json.loads((FIXTURES / "001_voice_sample.json").read_text())
        self.sms = json.loads((FIXTURES / "001_sms_sample.json").read_text())
        self.serial = 0

    def number(self) -> str:
        self.serial += 1
        return f"+1555{self.serial % 10_000_000:07d}"

    def windows(self, start_key: str = "Start", end_key: str = "End") -> list[dict[str, str]] | None:
        """Open now (a third), opening within the next hours (half), or None: keep the sample's own.

        With `few_openings` (the crash runs): 60 % open now, 15 % opening at the next half hour of simulated
        time (so advancing the clock has few distinct moments to step through), 25 % the sample's own."""
        draw = self.rng.random()
        now = self.clock.now()
        if self.few_openings:
            if draw < 0.6:
                return [{start_key: _stamp(now - timedelta(minutes=5)), end_key: _stamp(now + timedelta(hours=2))}]
            if draw < 0.75:
                hour = now.replace(minute=0, second=0, microsecond=0)
                opens = hour + timedelta(minutes=60 if now.minute >= 30 else 30)
                return [{start_key: _stamp(opens), end_key: _stamp(opens + timedelta(hours=2))}]
            return None
        if draw < 0.35:
            return [{start_key: _stamp(now - timedelta(minutes=5)), end_key: _stamp(now + timedelta(hours=2))}]
        if draw < 0.85:
            opens = now + timedelta(minutes=self.rng.randint(10, 360))
            return [
                {start_key: _stamp(opens), end_key: _stamp(opens + timedelta(hours=2))},
                {start_key: _stamp(opens + timedelta(hours=4)), end_key: _stamp(opens + timedelta(hours=6))},
            ]
        return None

    def make(self, kind: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(path, body, what the checker must find: to, attributes, trackingId)."""
        if kind == "voice":
            body = json.loads(json.dumps(self.voice))
            to = f"+1500555{self.rng.randint(1, 14):04d}" if self.rng.random() < 0.1 else self.number()
            body["DestinationPhoneNumber"] = to
            body["InputAttributes"]["orderNumber"] = f"ORD{self.serial:09d}"
            if (windows := self.windows()) is not None:
                body["Windows"] = windows
            sent = {"to": to, "attributes": body["InputAttributes"]}
            return f"{API}/CCaaS_CreateProactiveVoiceDelivery", body, sent
        sample = self.chain if kind == "chain" else self.sms
        body = json.loads(json.dumps(sample))
        contacts = json.loads(body["Contacts"])
        contact = contacts[0]
        if kind == "sms" or self.rng.random() < 0.9:
            contact["uniqueIdentifier"] = str(uuid.uuid4())
        for phone in ("mobilePhoneNumber", "businessPhoneNumber", "homePhoneNumber"):
            if phone in contact:
                contact[phone] = self.number()
        contact["inputAttributes"]["CustomerNumber"] = f"{self.serial:07d}"
        if (windows := self.windows("start", "end")) is not None:
            contact["windows"] = windows
        body["Contacts"] = json.dumps(contacts)
        body["RequestId"] = str(uuid.uuid4())
        sent = {"to": contact["mobilePhoneNumber"], "attributes": contact["inputAttributes"],
                "trackingId": body["RequestId"]}  # fmt: skip
        return f"{API}/CCaaS_CreateProactiveDelivery", body, sent


def query_path(kind: str, rng: random.Random, known: list[str], clock: EmulatorClock) -> str:
    if kind == "get" and known:
        return f"{API}/msdyn_proactive_deliveries({rng.choice(known)})"
    if kind == "expand" and known:
        return (f"{API}/msdyn_proactive_deliveries({rng.choice(known)})?$select=msdyn_status,msdyn_to_address"
                f"&$expand={EXPAND}($select=msdyn_keyword,msdyn_value,msdyn_type)")  # fmt: skip
    if kind == "count":
        return f"{API}/msdyn_proactive_deliveries/$count"
    filters = [
        "msdyn_status eq 'Pending'",
        "msdyn_status eq 'Complete' and msdyn_result eq 'LiveAnswer'",
        f"msdyn_to_address eq '+1555{rng.randint(0, 9999999):07d}'",
        f"createdon gt {(clock.now() - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"{EXPAND}/any(a:a/msdyn_keyword eq 'type')",
    ]
    return f"{API}/msdyn_proactive_deliveries?$filter={quote(rng.choice(filters), safe=chr(39) + '(),:/')}&$top=50"


# --- the load -------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    sent: int = 0
    skipped: int = 0
    seconds: float = 0.0
    max_lag_ms: float = 0.0
    read_mismatches: list[str] = field(default_factory=list)


class Load:
    """Open-loop, fixed-rate, bounded: request n leaves at start + n / rate, at most rate x duration requests,
    none after `duration`, at most `max_in_flight` at once. Every request is a JSON line in `log`."""

    def __init__(self, base: str, token: str, log: TextIO, *, rate: float, duration: float, seed: int = 1,
                 max_in_flight: int = 256, mix: dict[str, int] | None = None,
                 few_openings: bool = False) -> None:  # fmt: skip
        if not base.startswith("http://127.0.0.1:"):
            raise ValueError("the soak load is loopback only")
        self.base, self.token, self.log = base, token, log
        self.rate, self.duration, self.max_in_flight = rate, duration, max_in_flight
        self.rng = random.Random(seed)  # noqa: S311  (a reproducible mix, not a secret)
        self.mix = mix or MIX
        self.few_openings = few_openings
        self.known: list[str] = []  # acknowledged delivery ids, for the single-row queries
        self.sent_attributes: dict[str, dict[str, str]] = {}
        self.report = LoadReport()
        self.stop_requested = threading.Event()  # set from another thread to end the load early

    def _write(self, record: dict[str, Any]) -> None:
        self.log.write(json.dumps(record, separators=(",", ":")) + "\n")

    async def _one(self, http: aiohttp.ClientSession, n: int, kind: str, due: float, started_at: float,
                   bodies: Bodies, clock: EmulatorClock) -> None:  # fmt: skip
        record: dict[str, Any] = {"n": n, "kind": kind, "t": round(due - started_at, 4)}
        sent: dict[str, Any] | None = None
        body: dict[str, Any] | None = None
        if kind in ACTIONS:
            path, body, sent = bodies.make(kind)
        else:
            path = query_path(kind, self.rng, self.known, clock)
        record["path"] = path.split("?")[0][len(API) :]
        url = URL(self.base + path, encoded=True)  # the paths are already percent-encoded; send them as they are
        began = time.perf_counter()
        try:
            sending = http.get(url) if body is None else http.post(url, data=json.dumps(body), headers=JSON_CONTENT)
            async with sending as response:
                status, text = response.status, await response.text()
                request_id = response.headers.get("REQ_ID")
        except (aiohttp.ClientError, TimeoutError) as exc:
            record |= {"status": type(exc).__name__, "ms": round((time.perf_counter() - began) * 1000, 2)}
            if sent is not None:
                record["sent"] = sent
            self._write(record)
            return
        record |= {"status": status, "ms": round((time.perf_counter() - began) * 1000, 2)}
        if status >= 500 or (status >= 400 and kind in ACTIONS):
            record |= {"body": text[:2000], "reqId": request_id, "request": path, "requestBody": body}
        if sent is not None:
            record["sent"] = sent
            if status == 200:
                answer = json.loads(text)
                record["deliveryId"] = answer.get("DeliveryId")
                record["taskId"] = answer.get("DeliveryTaskId")
                if record["deliveryId"]:
                    self.known.append(record["deliveryId"])
                    self.sent_attributes[record["deliveryId"]] = sent["attributes"]
        elif kind == "expand" and status == 200:
            self._compare(path, json.loads(text))
        self._write(record)

    def _compare(self, path: str, row: dict[str, Any]) -> None:
        """A delivery read back with its attributes must carry exactly the Input attributes it was sent with."""
        delivery = row.get("msdyn_proactive_deliveryid")
        expected = self.sent_attributes.get(delivery or "")
        if expected is None:
            return
        got = {a["msdyn_keyword"]: a["msdyn_value"] for a in row.get(EXPAND, []) if a.get("msdyn_type") == 700610000}
        if got != expected:
            self.report.read_mismatches.append(f"{path}: sent {expected}, read {got}")

    async def run(self) -> LoadReport:
        clock = EmulatorClock(self.base)
        bodies = Bodies(self.rng, clock, few_openings=self.few_openings)
        kinds, weights = list(self.mix), list(self.mix.values())
        total = int(self.rate * self.duration)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        in_flight: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(limit=self.max_in_flight, keepalive_timeout=30)
        async with aiohttp.ClientSession(connector=connector, headers=headers, trust_env=False,
                                         timeout=aiohttp.ClientTimeout(total=30)) as http:  # fmt: skip
            started_at = loop.time()
            for n in range(total):
                due = started_at + n / self.rate
                if due - started_at >= self.duration or self.stop_requested.is_set():
                    break
                if (delay := due - loop.time()) > 0:
                    await asyncio.sleep(delay)
                self.report.max_lag_ms = max(self.report.max_lag_ms, (loop.time() - due) * 1000)
                kind = self.rng.choices(kinds, weights)[0]
                if len(in_flight) >= self.max_in_flight:
                    self.report.skipped += 1
                    self._write({"n": n, "kind": kind, "t": round(due - started_at, 4), "status": "skipped"})
                    continue
                task = asyncio.create_task(self._one(http, n, kind, due, started_at, bodies, clock))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                self.report.sent += 1
            if in_flight:
                await asyncio.gather(*in_flight)
            self.report.seconds = loop.time() - started_at
        self.log.flush()
        return self.report


# --- the soak -------------------------------------------------------------------------------------------


def run_soak(args: argparse.Namespace) -> int:
    from bench.check_soak import check, print_report

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(args.workdir or ROOT / "var" / "soak" / f"{stamp}-soak-{args.backend}")
    workdir.mkdir(parents=True, exist_ok=True)
    database_url, drop = make_database(args.backend, workdir)
    split = args.backend == "postgres"
    cluster = Cluster(database_url, workdir, split=split, api_workers=2 if split else 1,
                      settings={"CCAAS_CLOCK_SPEED": str(args.clock_speed)})  # fmt: skip
    print(f"soak: {args.backend}, {args.rate} req/s for {args.duration} s, clock x{args.clock_speed}; "
          f"logs in {workdir}")  # fmt: skip
    try:
        cluster.start()
        token = cluster.token()
        with (workdir / "client.jsonl").open("w") as log:
            load = Load(cluster.base, token, log, rate=args.rate, duration=args.duration, seed=args.seed,
                        max_in_flight=args.max_in_flight)  # fmt: skip
            report = asyncio.run(load.run())
        alive = {"api": cluster.api.poll() is None if cluster.api else False,
                 "worker": cluster.worker.poll() is None if cluster.worker else None}  # fmt: skip
        cluster.stop()
        result = check(database_url, workdir / "client.jsonl", crash=False)
        result.load = report
        print_report(result, title=f"soak {args.backend} {args.rate} req/s x {args.duration} s")
        print(f"processes alive at the end: {alive}")
        failed = not result.ok or not alive["api"] or alive["worker"] is False
        return 1 if failed else 0
    finally:
        cluster.stop()
        if not args.keep:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    parser.add_argument("--clock-speed", type=float, default=60.0, help="CCAAS_CLOCK_SPEED (default 60)")
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="where the logs go (default var/soak/<time>-soak-<backend>)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    sys.exit(run_soak(parser.parse_args()))


if __name__ == "__main__":
    main()
