"""Bulk intake: one 15,000-item CCaaS_CreateProactiveBulkDelivery call, persisted through the real HTTP stack.

A real `ccaas-emulator serve` (dialer off) on a fresh database. Each round posts ITEMS contacts in ONE bulk call
(the 200 comes back once every row is committed) and times it; the baseline, measured in the same run on the
same server, posts BASELINE_ITEMS contacts of the same shape ONE BY ONE through CCaaS_CreateSimpleProactiveDelivery
(the same rows: a contact, a task, a delivery each) from THREADS client threads; the ratio compares the time
per contact of both. Afterwards the rows are counted: every item of the bulk call must be in the database. The
target (issue #16): the bulk call persists in under 5 s; the script exits 1 when a round misses it.

    .venv/bin/python bench/bulk.py                   # SQLite in a temporary folder
    .venv/bin/python bench/bulk.py --postgres        # a throwaway database on CCAAS_TEST_POSTGRES_URL
    .venv/bin/python bench/bulk.py --items 15000 --rounds 3 --baseline-items 15000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.actions import emulator_env, free_port

CONFIG = "36ebcd69-574d-f111-bec5-70a8a5b0f6fd"  # the demo configuration of the Simple and Bulk samples
TARGET_SECONDS = 5.0


def contact(run: str, index: int) -> dict[str, str]:
    """One item as the documented sample has it (wire-facts A5), with its own identifier and number."""
    return {
        "firstName": "John",
        "lastName": f"Doe {index}",
        "businessPhoneNumber": f"+1866{index:07d}",
        "mobilePhoneNumber": f"+1425{index:07d}",
        "state": "CA",
        "city": "San Francisco",
        "zipCode": "94105",
        "timeZone": "Pacific Standard Time",
        "uniqueIdentifier": f"{run}-{index}",
    }


def bulk_call(http: httpx.Client, headers: dict[str, str], run: str, items: int) -> tuple[float, str]:
    body = orjson.dumps({
        "ApiVersion": "1.0",
        "ProactiveEngagementConfigId": CONFIG,
        "ProactiveDeliveries": orjson.dumps([contact(run, index) for index in range(items)]).decode(),
        "RequestId": run,
        "ProactiveEngagements": "",
    })  # fmt: skip
    started = time.perf_counter()
    response = http.post("/api/data/v9.2/CCaaS_CreateProactiveBulkDelivery", content=body, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, f"{len(body) / 1e6:.1f} MB"


def one_by_one(base: str, headers: dict[str, str], run: str, items: int, threads: int) -> float:
    def post(indexes: range) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for index in indexes:
                item = contact(run, index)
                body = {
                    "ApiVersion": "1.0",
                    "ProactiveEngagementConfigId": CONFIG,
                    "UniqueIdentifier": item["uniqueIdentifier"],
                    "FirstName": item["firstName"],
                    "LastName": item["lastName"],
                    "MobilePhoneNumber": item["mobilePhoneNumber"],
                    "BusinessPhoneNumber": item["businessPhoneNumber"],
                    "State": item["state"],
                    "City": item["city"],
                    "PostalCode": item["zipCode"],
                    "TimeZone": item["timeZone"],
                }
                http.post("/api/data/v9.2/CCaaS_CreateSimpleProactiveDelivery", json=body,
                          headers=headers).raise_for_status()  # fmt: skip

    shares = [range(start, items, threads) for start in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, shares))
    return time.perf_counter() - started


def count(url: str, tracking_id: str | None, prefix: str) -> tuple[int, int]:
    """(deliveries with this tracking id, contacts whose external id starts with prefix)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            deliveries = connection.execute(
                text("SELECT count(*) FROM msdyn_proactive_delivery WHERE msdyn_tracking_id = :t"), {"t": tracking_id}
            ).scalar_one()
            contacts = connection.execute(
                text("SELECT count(*) FROM contact WHERE emulator_external_id LIKE :p"), {"p": f"{prefix}-%"}
            ).scalar_one()
        return int(deliveries), int(contacts)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--items", type=int, default=15_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="client threads of the one-by-one baseline")
    parser.add_argument("--baseline-items", type=int, default=3000, help="contacts the one-by-one baseline posts")
    args = parser.parse_args()

    drop = None
    if args.postgres:
        from tests.support.postgres import POSTGRES_URL, create_postgres_database

        url, drop = create_postgres_database(POSTGRES_URL)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='ccaas-bench-')}/ccaas.db"
    port = free_port()
    # HTTP only, dialer off, no limits (the one-by-one baseline sends thousands of requests as one user).
    env = emulator_env(url, port, 1)
    cli = [sys.executable, "-m", "ccaas_emulator"]
    server = None
    load = os.getloadavg()
    print(f"{'PostgreSQL' if args.postgres else 'SQLite'}, {args.items:,} items; load average at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")  # fmt: skip
    try:
        subprocess.run([*cli, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        server = subprocess.Popen([*cli, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        token = subprocess.run([*cli, "token"], env=env, capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        results: list[dict[str, Any]] = []
        with httpx.Client(base_url=base, timeout=120) as http:
            bulk_call(http, headers, f"warm-{uuid.uuid4().hex[:8]}", 100)  # first-request costs out of the way
            for round_number in range(1, args.rounds + 1):
                run = f"bulk-{uuid.uuid4().hex[:8]}"
                seconds, size = bulk_call(http, headers, run, args.items)
                deliveries, contacts = count(url, run, run)
                assert deliveries == contacts == args.items, (deliveries, contacts)
                single_run = f"single-{uuid.uuid4().hex[:8]}"
                baseline = one_by_one(base, headers, single_run, args.baseline_items, args.threads)
                _, single_contacts = count(url, None, single_run)
                assert single_contacts == args.baseline_items, single_contacts
                ratio = (seconds / args.items) / (baseline / args.baseline_items)
                results.append({"round": round_number, "bulk": seconds, "baseline": baseline, "size": size})
                verdict = "under" if seconds < TARGET_SECONDS else "OVER"
                print(f"round {round_number}: one bulk call of {args.items:,} items ({size}) persisted in "
                      f"{seconds:.2f} s ({verdict} the {TARGET_SECONDS:.0f} s target); {args.baseline_items:,} "
                      f"such contacts one by one through CCaaS_CreateSimpleProactiveDelivery ({args.threads} "
                      f"threads): {baseline:.2f} s; time per contact, bulk / one by one: {ratio:.3f}")  # fmt: skip
        load = os.getloadavg()
        print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if any(result["bulk"] >= TARGET_SECONDS for result in results):
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        if drop is not None:
            drop()


if __name__ == "__main__":
    main()
