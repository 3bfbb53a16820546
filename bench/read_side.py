"""Web API read side over 1,000,000 deliveries: `$filter` + `$top=50`, p50 and p99, against a baseline.

A real `ccaas-emulator serve` (dialer off) over a database filled with ROWS deliveries (tests/support/bulk.py).
Baseline, measured in the same run over the same socket: GET of one delivery by its key, the least any
read costs. Each query is sent REQUESTS times, one at a time, after a warm-up.

    .venv/bin/python bench/read_side.py                   # SQLite in a temporary folder
    .venv/bin/python bench/read_side.py --postgres        # a throwaway database on CCAAS_TEST_POSTGRES_URL
    .venv/bin/python bench/read_side.py --rows 100000 --requests 200
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.actions import emulator_env, free_port
from tests.support.bulk import fill_deliveries

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.runtime import prepare_database
from ccaas_emulator.settings import Settings

QUERIES = {
    "status eq, top 50": "$select=msdyn_status,msdyn_result&$filter=msdyn_status eq 'Complete'&$top=50",
    "config id eq, top 50": (
        "$select=msdyn_status&$filter=msdyn_proactive_engagement_config_id eq "
        "'a1b2c3d4-e5f6-7890-abcd-ef1234567890'&$top=50"
    ),
    "createdon range, newest 50": (
        "$select=createdon&$filter=createdon ge 2026-01-05T00:00:00Z and createdon lt 2026-01-06T00:00:00Z"
        "&$orderby=createdon desc&$top=50"
    ),
    "status eq, page of 50 via maxpagesize": "$select=msdyn_status&$filter=msdyn_status eq 'Pending'",
}


def timed(http: httpx.Client, url: str, count: int, headers: dict[str, str]) -> list[float]:
    for _ in range(10):
        http.get(url, headers=headers).raise_for_status()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = http.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    drop = None
    if args.postgres:
        from tests.support.postgres import POSTGRES_URL, create_postgres_database

        url, drop = create_postgres_database(POSTGRES_URL)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='ccaas-bench-')}/ccaas.db"
    port = free_port()
    env = emulator_env(url, port, 1)  # HTTP only, dialer off, no limits: one token, the measurement not throttled
    server = None
    try:
        prepare_database(Settings(database_url=url, port=port))
        engine = make_engine(url, pool_size=1)
        started = time.perf_counter()
        fill_deliveries(engine, args.rows)
        with engine.connect() as connection:
            some_id = connection.execute(
                text("SELECT msdyn_proactive_deliveryid FROM msdyn_proactive_delivery LIMIT 1")
            ).scalar()
        engine.dispose()
        print(f"{'PostgreSQL' if args.postgres else 'SQLite'}: {args.rows:,} deliveries generated in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        cli = [sys.executable, "-m", "ccaas_emulator"]
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
        headers = {"Authorization": f"Bearer {token}"}
        key = str(uuid.UUID(str(some_id)))  # SQLite keeps GUIDs as 32 hex digits
        with httpx.Client(base_url=base, timeout=30) as http:
            baseline = timed(http, f"/api/data/v9.2/msdyn_proactive_deliveries({key})?$select=msdyn_status",
                             args.requests, headers)  # fmt: skip
            base_p50, base_p99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
            print(f"{'query':<40} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>10} {'p99 ratio':>10}")
            print(f"{'baseline: one delivery by key':<40} {base_p50:>8.2f} {base_p99:>8.2f} {1:>10.2f} {1:>10.2f}")
            for name, query in QUERIES.items():
                extra = {"Prefer": "odata.maxpagesize=50"} if "maxpagesize" in name else {}
                samples = timed(http, f"/api/data/v9.2/msdyn_proactive_deliveries?{query}", args.requests,
                                headers | extra)  # fmt: skip
                p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
                print(f"{name:<40} {p50:>8.2f} {p99:>8.2f} {p50 / base_p50:>10.2f} {p99 / base_p99:>10.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        if drop is not None:
            drop()


if __name__ == "__main__":
    main()
