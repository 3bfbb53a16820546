"""Action throughput: CCaaS_CreateProactiveVoiceDelivery at 32 connections, against baselines of the same run.

Posts the reference voice sample (tests/fixtures/000_voice_sample.json, its Windows moved a week into the
future) to POST /api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery for DURATION seconds at CONNECTIONS
concurrent connections, with `wrk` and a Lua script carrying the body and a bearer token, and prints req/s,
p50 and p99 for each configuration:

    bare1    bench/bare_app.py (FastAPI + pydantic, parses the body, answers the same JSON, no database),
             uvicorn with uvloop + httptools, 1 process: THE baseline every ratio is taken against
    bare2    the same, 2 processes
    prism    Stoplight Prism (bench/prism, npm) mocking the operation from the emulator's own OpenAPI
             document (GET /openapi.json of the running emulator, written to a file)
    sqlite1  `ccaas-emulator serve` on SQLite, 1 process, dialer off: every delivery committed before its 200
    pg2      `ccaas-emulator serve --workers 2` on a throwaway PostgreSQL database (tests/support/postgres.py)
    (extra, with --only: sqlite2, pg1)

Every configuration runs once per round (default 2 rounds, interleaved), each on a fresh database; every
ratio is to bare1 of the same round. After each emulator run the deliveries in the database are counted:
there must be at least as many as 200s answered (a 200 means committed). CPU us/req is the server's own CPU time
(user + system, all its processes; not PostgreSQL's) per request, read from /proc: on a machine shared with other
work it moves far less than req/s. A missing tool (wrk, node, the
Prism install, PostgreSQL) is said so and the rest is measured; without wrk an async httpx driver is used.

    make bench                                         # or:
    .venv/bin/python bench/actions.py
    .venv/bin/python bench/actions.py --rounds 3 --duration 10 --only bare1,sqlite1
    (cd bench/prism && npm ci)                         # once, for the Prism baseline
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PATH = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
FIXTURE = ROOT / "tests" / "fixtures" / "000_voice_sample.json"
PRISM = ROOT / "bench" / "prism" / "node_modules" / ".bin" / "prism"
BIN = Path(sys.executable).parent
DEFAULT_CONFIGS = ("bare1", "bare2", "prism", "sqlite1", "pg2")
LABELS = {
    "bare1": "bare FastAPI app, 1 process",
    "bare2": "bare FastAPI app, 2 processes",
    "prism": "Stoplight Prism mock",
    "sqlite1": "emulator, SQLite, 1 process",
    "sqlite2": "emulator, SQLite, 2 processes",
    "pg1": "emulator, PostgreSQL, 1 process",
    "pg2": "emulator, PostgreSQL, 2 processes",
}


@dataclass
class Result:
    config: str
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: int = 0
    cpu_us: float | None = None
    """The server's CPU time (user + system, all its processes) per request answered, in microseconds: what a
    request costs, which a machine shared with other work changes far less than it changes req/s."""
    socket_errors: int = 0
    committed: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Run:
    """What a server needs to be measured: its URL, a bearer token, and where to count its deliveries."""

    base: str
    token: str = ""
    database_url: str | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)


def sample_body() -> bytes:
    """The reference voice sample, its two windows moved a week ahead (same shape, same sizes)."""
    body = json.loads(FIXTURE.read_text())
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    days = [day + timedelta(days=offset) for offset in (0, 1)]
    body["Windows"] = [{"Start": f"{day}T13:00:00.000Z", "End": f"{day}T15:59:59.999Z"} for day in days]
    return json.dumps(body, indent=2).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # A session of its own, so stopping it reaches uvicorn's or node's children too (by its id).
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout} s: {log.read_text()[-2000:]}")


def emulator_env(database_url: str, port: int, workers: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    return env | {
        "CCAAS_DATABASE_URL": database_url,
        "CCAAS_PORT": str(port),
        "CCAAS_TLS_PORT": "0",  # HTTP only, as measured before HTTPS existed
        "CCAAS_WORKERS": str(workers),
        "CCAAS_DIALER": "off",
        "CCAAS_LOG_LEVEL": "warning",  # no access log and no journal lines: the bare app logs nothing either
        "CCAAS_LIMITS": "0",  # one token, many connections: over the 52 concurrent and 6,000 per 300 s at once
    }


def count_deliveries(database_url: str) -> int:
    from ccaas_emulator.db.engine import normalize_url

    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM msdyn_proactive_delivery")).scalar_one())
    finally:
        engine.dispose()


class Launcher:
    """Starts each configuration's server and hands back how to reach it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.openapi: Path | None = None
        self.postgres: str | None = None
        self._postgres_checked = False

    def launch(self, config: str) -> tuple[subprocess.Popen[bytes], Run]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = self.workdir / f"{config}-{port}.log"
        if config.startswith("bare"):
            workers = config[-1]
            env = dict(os.environ) | {"CCAAS_ORG_URL": base}
            command = [str(BIN / "uvicorn"), "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port),
                       "--workers", workers, "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                       "--no-access-log"]  # fmt: skip
            process = start(command, env, log)
            wait_ready(f"{base}/health", process, log)
            return process, Run(base)
        if config == "prism":
            assert self.openapi is not None
            command = [str(PRISM), "mock", str(self.openapi), "-h", "127.0.0.1", "-p", str(port)]
            process = start(command, dict(os.environ), log, cwd=PRISM.parents[2])
            wait_ready(f"{base}/", process, log)
            return process, Run(base, token="prism-ignores-it")  # noqa: S106
        workers = int(config[-1])
        if config.startswith("pg"):
            from tests.support.postgres import create_postgres_database

            assert self.postgres is not None
            database_url, drop = create_postgres_database(self.postgres)
            cleanup = [drop]
        else:
            folder = Path(tempfile.mkdtemp(prefix="sqlite-", dir=self.workdir))
            database_url = f"sqlite:///{folder}/ccaas.db"
            cleanup = [lambda: shutil.rmtree(folder, ignore_errors=True)]
        env = emulator_env(database_url, port, workers)
        process = start([str(BIN / "ccaas-emulator"), "serve"], env, log)
        try:
            wait_ready(f"{base}/ready", process, log)
            token = subprocess.run(  # noqa: S603
                [str(BIN / "ccaas-emulator"), "token"], env=env, capture_output=True, text=True, check=True
            ).stdout.strip()
            if self.openapi is None:
                self.openapi = self.workdir / "openapi.json"
                self.openapi.write_bytes(httpx.get(f"{base}/openapi.json", timeout=10).content)
        except BaseException:
            stop(process)
            for step in cleanup:
                step()
            raise
        return process, Run(base, token=token, database_url=database_url, cleanup=cleanup)

    def postgres_available(self) -> bool:
        if not self._postgres_checked:
            self._postgres_checked = True
            from tests.support.postgres import POSTGRES_URL

            try:
                import psycopg

                plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
                psycopg.connect(plain, connect_timeout=3).close()
                self.postgres = POSTGRES_URL
            except Exception as exc:
                print(f"NOTE: PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__}); pg runs skipped")
        return self.postgres is not None


LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""


def drive_wrk(
    config: str, run: Run, body: bytes, seconds: float, connections: int, threads: int, workdir: Path
) -> Result:
    script = workdir / f"{config}.lua"
    script.write_text(LUA.format(body=body.decode(), token=run.token))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script),
               run.base + PATH]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    requests, micros, p50, p99, connect, read, write, status, timeout = (int(value) for value in line.split()[1:])
    return Result(config, requests, micros / 1e6, p50 / 1000, p99 / 1000, non_2xx=status,
                  socket_errors=connect + read + write + timeout)  # fmt: skip


def drive_httpx(config: str, run: Run, body: bytes, seconds: float, connections: int) -> Result:
    """Fallback load generator: CONNECTIONS asyncio tasks, each posting in a loop on its own keep-alive."""

    async def go() -> Result:
        latencies: list[float] = []
        non_2xx = errors = 0
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {run.token}"}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=run.base, limits=limits, timeout=10) as client:
            deadline = time.perf_counter() + seconds

            async def worker() -> None:
                nonlocal non_2xx, errors
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    try:
                        response = await client.post(PATH, content=body, headers=headers)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - started)
                    non_2xx += not 200 <= response.status_code < 400

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0  # noqa: E731
        return Result(config, len(latencies), elapsed, pick(0.5), pick(0.99), non_2xx=non_2xx, socket_errors=errors)

    return asyncio.run(go())


def server_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of the server's process group (uvicorn's or node's workers too), from /proc;
    None where there is no /proc (the column is then left empty)."""
    total = 0.0
    try:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == pid:  # the process group: start() gives each server a session of its own
                total += int(fields[11]) + int(fields[12])  # utime, stime (in clock ticks)
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def measure(config: str, launcher: Launcher, args: argparse.Namespace, body: bytes) -> Result | None:
    if config == "prism" and (shutil.which("node") is None or not PRISM.exists()):
        print("NOTE: Prism is not installed (needs node and `cd bench/prism && npm ci`); prism skipped")
        return None
    if config.startswith("pg") and not launcher.postgres_available():
        return None
    process, run = launcher.launch(config)
    try:

        def drive(seconds: float) -> Result:
            if args.driver == "wrk":
                return drive_wrk(config, run, body, seconds, args.connections, args.threads, launcher.workdir)
            return drive_httpx(config, run, body, seconds, args.connections)

        before = count_deliveries(run.database_url) if run.database_url else None
        drive(args.warmup)  # pools filled, caches warm, first-request costs paid
        warm = count_deliveries(run.database_url) if run.database_url else None
        cpu_before = server_cpu_seconds(process.pid)
        result = drive(args.duration)
        cpu_after = server_cpu_seconds(process.pid)
        if cpu_before is not None and cpu_after is not None and result.requests:
            result.cpu_us = (cpu_after - cpu_before) / result.requests * 1e6
        if run.database_url is not None and before is not None and warm is not None:
            time.sleep(0.5)
            result.committed = count_deliveries(run.database_url) - warm
        if process.poll() is not None:
            result.note = f"server died ({process.returncode})"
        return result
    finally:
        stop(process)
        for step in run.cleanup:
            step()


def report(round_number: int, results: dict[str, Result]) -> None:
    base = results.get("bare1")
    print(f"\nround {round_number}: ratios to the bare app on 1 process in this round")
    print(f"{'configuration':<36}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s x':>9}{'p50 x':>8}{'p99 x':>8}"
          f"{'CPU us/req':>11}{'non-2xx':>9}{'200s':>8}{'committed':>11}")  # fmt: skip
    for config, result in results.items():
        ratio = (
            (result.rate / base.rate, result.p50_ms / base.p50_ms, result.p99_ms / base.p99_ms)
            if base and base.rate and base.p50_ms and base.p99_ms
            else (float("nan"),) * 3
        )
        answered = result.requests - result.non_2xx
        committed = "" if result.committed is None else f"{result.committed:,}"
        cpu = "" if result.cpu_us is None else f"{result.cpu_us:,.0f}"
        flag = ""
        if result.committed is not None and result.committed < answered:
            flag = "  FEWER COMMITTED THAN 200s"
        if result.non_2xx or result.socket_errors:
            flag += f"  ({result.non_2xx} non-2xx, {result.socket_errors} socket errors)"
        print(f"{LABELS[config]:<36}{result.rate:>9,.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
              f"{ratio[0]:>9.2f}{ratio[1]:>8.2f}{ratio[2]:>8.2f}{cpu:>11}{result.non_2xx:>9,}{answered:>8,}{committed:>11}"
              f"{flag}{('  ' + result.note) if result.note else ''}")  # fmt: skip


def targets(results: dict[str, Result]) -> list[tuple[str, bool]]:
    """The issue's targets, judged on one round's figures."""
    checks: list[tuple[str, bool]] = []
    bare1, bare2, prism = results.get("bare1"), results.get("bare2"), results.get("prism")
    sqlite1, pg2 = results.get("sqlite1"), results.get("pg2")
    if bare1 and sqlite1:
        checks.append((f"SQLite 1 process >= 0.50 x bare 1 process req/s: {sqlite1.rate / bare1.rate:.2f}",
                       sqlite1.rate >= 0.5 * bare1.rate))  # fmt: skip
        checks.append((f"SQLite p99 <= 2 x bare 1 process p99: {sqlite1.p99_ms / bare1.p99_ms:.2f}",
                       sqlite1.p99_ms <= 2 * bare1.p99_ms))  # fmt: skip
    if bare1 and pg2:
        checks.append((f"PostgreSQL 2 processes >= bare 1 process req/s: {pg2.rate / bare1.rate:.2f}",
                       pg2.rate >= bare1.rate))  # fmt: skip
    if bare2 and pg2:
        checks.append((f"PostgreSQL 2 processes p99 <= 2 x bare 2 processes p99: {pg2.p99_ms / bare2.p99_ms:.2f}",
                       pg2.p99_ms <= 2 * bare2.p99_ms))  # fmt: skip
    if prism:
        for name, result in (("SQLite", sqlite1), ("PostgreSQL", pg2)):
            if result:
                checks.append((f"{name} ahead of Prism: {result.rate / prism.rate:.2f} x Prism's req/s",
                               result.rate > prism.rate))  # fmt: skip
    for result in (sqlite1, pg2):
        if result and result.committed is not None:
            checks.append((f"{LABELS[result.config]}: every 200 committed ({result.committed:,} rows for "
                           f"{result.requests - result.non_2xx:,} 200s) and no error",
                           result.committed >= result.requests - result.non_2xx and not result.non_2xx))  # fmt: skip
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="every configuration once per round (default 2)")
    parser.add_argument("--only", default=",".join(DEFAULT_CONFIGS), help=f"comma-separated, of {', '.join(LABELS)}")
    parser.add_argument("--driver", choices=("wrk", "httpx"), default=None, help="default: wrk if installed")
    args = parser.parse_args()
    configs = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in configs if name not in LABELS]
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(unknown)}")
    if args.driver is None:
        args.driver = "wrk" if shutil.which("wrk") else "httpx"
        if args.driver == "httpx":
            print("NOTE: wrk is not installed (Debian: apt-get install wrk); using the async httpx driver, "
                  "which shares the 2 cores with the servers and caps every figure lower")  # fmt: skip
    if "prism" in configs and not any(name.startswith(("sqlite", "pg")) for name in configs):
        configs.insert(0, "sqlite1")  # Prism mocks the OpenAPI document a running emulator serves
    if "prism" in configs:  # the emulator that serves the OpenAPI document must run before Prism
        configs.remove("prism")
        emulator_at = max(index for index, name in enumerate(configs) if name.startswith(("sqlite", "pg")))
        configs.insert(emulator_at + 1, "prism")

    body = sample_body()
    print(f"POST {PATH}: {len(body)} bytes (000_voice_sample.json, windows a week ahead), "
          f"{args.connections} connections, {args.duration:g} s (+{args.warmup:g} s warm-up), driver {args.driver}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    rounds: list[dict[str, Result]] = []
    with tempfile.TemporaryDirectory(prefix="ccaas-bench-actions-") as folder:
        launcher = Launcher(Path(folder))
        for number in range(1, args.rounds + 1):
            results: dict[str, Result] = {}
            for config in configs:
                try:
                    result = measure(config, launcher, args, body)
                except Exception as exc:
                    print(f"NOTE: {LABELS[config]} could not be measured: {exc}")
                    continue
                if result is not None:
                    results[config] = result
                    cpu = "" if result.cpu_us is None else f", {result.cpu_us:,.0f} us CPU/request"
                    print(f"  {LABELS[config]}: {result.rate:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                          f"p99 {result.p99_ms:.2f} ms{cpu}", flush=True)  # fmt: skip
            ordered = {name: results[name] for name in LABELS if name in results}
            report(number, ordered)
            rounds.append(ordered)
    print("\ntargets (issues #6 and #17), per round:")
    for number, results in enumerate(rounds, 1):
        for text_, met in targets(results):
            print(f"  round {number}: {'MET   ' if met else 'MISSED'} {text_}")


if __name__ == "__main__":
    main()
