"""Time travel against posting (issue #17 item 1): advancing the clock over N deliveries costs no more than posting
them through the API did (ratio <= 1.0), measured in one run.

In one run, per N: a fresh database, `ccaas-emulator serve` as `make run` starts it (embedded dialer) with the clock
stopped (CCAAS_CLOCK_SPEED=0); N voice deliveries posted to CCaaS_CreateProactiveVoiceDelivery by CONNECTIONS
concurrent connections (the baseline: the time they took); then `POST /emulator/v1/clock {"advance": "P2D"}` over
them (the time it took). Windows are spread as a campaign's would be: each opens 1 minute to 36 hours after the
stopped clock's time and lasts 1 to 8 hours, a third with a second window the next day; numbers are random, so
outcomes are drawn (LiveAnswer, NoAnswer, ...), on the demo Copilot engagement (10 concurrent calls: from about
N = 10,000 deliveries wait for a free line, dialled as calls end, and at N = 100,000 most expire undialled).

With --old (SQLite only), the database is also copied right after posting and advanced in this process with the
old one-tick-per-event-time path (Dialer.advance_stepwise), for comparison.

    .venv/bin/python bench/timetravel.py                     # N = 2,000 and 100,000 on SQLite
    .venv/bin/python bench/timetravel.py --postgres
    .venv/bin/python bench/timetravel.py --counts 2000 --old
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.actions import BIN, emulator_env, free_port, start, stop, wait_ready  # noqa: E402

VOICE = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8"  # the demo Copilot engagement
CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"
CONNECTIONS = 8


def bodies(count: int, now: datetime, seed: int = 17) -> list[dict[str, object]]:
    rng = random.Random(seed)  # noqa: S311 (a benchmark's spread, not cryptography)
    made = []
    for _ in range(count):
        start_at = now + timedelta(minutes=rng.randint(1, 36 * 60))
        windows = [(start_at, start_at + timedelta(minutes=rng.randint(60, 480)))]
        if rng.random() < 1 / 3:
            windows.append((windows[0][0] + timedelta(days=1), windows[0][1] + timedelta(days=1)))
        made.append({"ApiVersion": "1.0", "ProactiveEngagementConfigId": CONFIG, "ContactId": CONTACT,
                     "DestinationPhoneNumber": f"+1555{rng.randrange(10**6, 10**7)}",
                     "Windows": [{"Start": _stamp(s), "End": _stamp(e)} for s, e in windows]})  # fmt: skip
    return made


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def post_all(base: str, token: str, payloads: list[dict[str, object]]) -> float:
    queue = list(reversed(payloads))
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            response = await client.post(VOICE, json=queue.pop(), headers=headers)
            if response.status_code != 200:
                failures.append(response.text[:300])

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONNECTIONS)))
    if failures:
        raise RuntimeError(f"{len(failures)} posts failed, e.g. {failures[0]}")
    return time.perf_counter() - started


def old_path_seconds(database_file: Path, workdir: Path) -> float:
    """A copy of the posted database advanced P2D in this process by the old stepping path."""
    from ccaas_emulator.runtime import Runtime
    from ccaas_emulator.settings import Settings

    copy = workdir / "old-path.db"
    with sqlite3.connect(database_file) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    runtime = Runtime.start(Settings(database_url=f"sqlite:///{copy}", dialer="off", clock_speed=0))
    try:
        assert runtime.dialer is not None
        started = time.perf_counter()
        runtime.dialer.advance_stepwise(runtime.clock.now() + timedelta(days=2))
        return time.perf_counter() - started
    finally:
        runtime.database.dispose()


def measure(count: int, *, postgres: str | None, old: bool, workdir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cleanup = []
    if postgres is not None:
        from tests.support.postgres import create_postgres_database

        database_url, drop = create_postgres_database(postgres)
        cleanup.append(drop)
        database_file = None
    else:
        folder = Path(tempfile.mkdtemp(prefix="timetravel-", dir=workdir))
        database_file = folder / "ccaas.db"
        database_url = f"sqlite:///{database_file}"
    env = emulator_env(database_url, port, 1) | {"CCAAS_DIALER": "embedded", "CCAAS_CLOCK_SPEED": "0"}
    log = workdir / f"serve-{count}-{port}.log"
    process = start([str(BIN / "ccaas-emulator"), "serve"], env, log)
    try:
        wait_ready(f"{base}/ready", process, log)
        token = subprocess.run(  # noqa: S603
            [str(BIN / "ccaas-emulator"), "token"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        now = datetime.fromisoformat(httpx.get(f"{base}/emulator/v1/clock").json()["now"].replace("Z", "+00:00"))
        posting = asyncio.run(post_all(base, token, bodies(count, now.astimezone(UTC))))
        old_seconds = old_path_seconds(database_file, workdir) if old and database_file is not None else None
        started = time.perf_counter()
        answer = httpx.post(f"{base}/emulator/v1/clock", json={"advance": "P2D"}, timeout=3600)
        advancing = time.perf_counter() - started
        answer.raise_for_status()
        processed = answer.json()["processed"]
    finally:
        stop(process)
        for step in cleanup:
            step()
    backend = "PostgreSQL" if postgres else "SQLite"
    print(f"{backend} N={count:,}: post {posting:.1f} s ({count / posting:,.0f}/s), advance P2D {advancing:.1f} s "
          f"(dialled {processed['dialled']:,}, completed {processed['completed']:,}, expired {processed['expired']:,},"
          f" rewindowed {processed['rewindowed']:,}); ratio advance/post {advancing / posting:.2f}"
          + (f"; old path {old_seconds:.1f} s (ratio {old_seconds / posting:.2f})" if old_seconds else ""),
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database instead of SQLite")
    parser.add_argument("--counts", default="2000,100000", help="comma-separated N (default 2000,100000)")
    parser.add_argument("--old", action="store_true", help="also time the old stepping path (SQLite only)")
    args = parser.parse_args()
    postgres = None
    if args.postgres:
        from tests.support.postgres import POSTGRES_URL

        postgres = POSTGRES_URL
    with tempfile.TemporaryDirectory(prefix="bench-timetravel-") as workdir:
        for count in (int(n) for n in args.counts.split(",")):
            measure(count, postgres=postgres, old=args.old, workdir=Path(workdir))


if __name__ == "__main__":
    main()
