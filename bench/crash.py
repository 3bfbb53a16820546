"""Crash: SIGKILL the API and the dialer worker at random moments under load, restart them, then prove that
every 200-acknowledged delivery is persisted, none was dialled twice and all reach a terminal status.

    .venv/bin/python bench/crash.py --backend sqlite                       # serve with the embedded dialer
    .venv/bin/python bench/crash.py --backend sqlite --split               # serve (dialer off) + one worker
    .venv/bin/python bench/crash.py --backend postgres                     # serve --workers 2 + one worker
    .venv/bin/python bench/crash.py --backend postgres --api-kills 2 --worker-kills 2 --rate 40

The load is bench/soak.py's (fixed rate, mixed actions and queries, loopback only, every answer logged to
client.jsonl). Kills are SIGKILL to the process and everything below it (uvicorn's supervisor and its worker
processes), in a shuffled order of --api-kills API kills and --worker-kills worker kills, each after a random
pause of --min-gap to --max-gap seconds; the killed process is restarted on the same port after up to 0.5 s.
With the embedded dialer (SQLite's default topology) an API kill also kills the dialer and --worker-kills is
ignored. The dialer lease is 2 s (CCAAS_DIALER_LEASE_SECONDS) so a restarted worker takes over the calls of
the killed one quickly.

After the last kill the load stops, every process is up again, and POST /emulator/v1/clock {"advance": "P2D"}
runs every window and call to its end; bench/check_soak.py --crash then checks the tables. Logs and the kill
schedule (kills.jsonl) go to var/soak/<UTC time>-crash-<backend>/. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.check_soak import CheckResult, check, print_report  # noqa: E402
from bench.soak import Cluster, Load, make_database  # noqa: E402

DEMO_CONFIGS = ("cbbac510-3e66-ef11-a671-6045bd03d9d8", "a1b2c3d4-e5f6-7890-abcd-ef1234567890")
DEMO_QUEUES = ("5f2b0c5e-0000-4000-8000-00000000c0e1", "5f2b0c5e-0000-4000-8000-00000000c0e2")


def widen_capacity(cluster: Cluster) -> None:
    """500 concurrent calls and 500 representatives on the demo voice engagements, through the public APIs,
    so the running dialer keeps up with the load and the final advance has few calls left to step through."""
    headers = {"Authorization": f"Bearer {cluster.token('--user', 'admin')}"}
    for config in DEMO_CONFIGS:
        answer = httpx.patch(f"{cluster.base}/api/data/v9.2/msdyn_proactive_engagement_configs({config})",
                             json={"msdyn_max_concurrent_calls": 500}, headers=headers, timeout=30)  # fmt: skip
        assert answer.status_code == 204, answer.text
    for queue in DEMO_QUEUES:
        answer = httpx.put(f"{cluster.base}/emulator/v1/queues/{queue}",
                           json={"representatives": 500, "averageHandleSeconds": 60}, timeout=30)  # fmt: skip
        assert answer.status_code == 200, answer.text


@dataclass
class CrashRun:
    result: CheckResult
    kills: list[dict[str, Any]] = field(default_factory=list)
    advance: dict[str, Any] = field(default_factory=dict)
    advance_seconds: float = 0.0
    seconds: float = 0.0
    seed: int = 0

    @property
    def ok(self) -> bool:
        return self.result.ok and bool(self.kills)


def run_crash(database_url: str, workdir: Path, *, split: bool, api_workers: int = 1, api_kills: int = 2,
              worker_kills: int = 2, rate: float = 40.0, gaps: tuple[float, float] = (1.0, 3.0),
              seed: int | None = None, clock_speed: float = 60.0) -> CrashRun:  # fmt: skip
    """Start the cluster on `database_url`, load it, kill and restart, advance two days, check."""
    seed = random.SystemRandom().randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)  # noqa: S311  (a reproducible schedule, not a secret)
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(database_url, workdir, split=split, api_workers=api_workers, settings={
        "CCAAS_CLOCK_SPEED": str(clock_speed), "CCAAS_DIALER_LEASE_SECONDS": "2", "CCAAS_DIALER_POLL_SECONDS": "0.05",
    })  # fmt: skip
    targets = ["api"] * api_kills + (["worker"] * worker_kills if split else [])
    rng.shuffle(targets)
    began = time.monotonic()
    kills: list[dict[str, Any]] = []
    box: dict[str, Any] = {}
    try:
        cluster.start()
        widen_capacity(cluster)
        token = cluster.token()
        log = (workdir / "client.jsonl").open("w")
        # Long enough for every kill and restart; stopped as soon as the last restart is done.
        load = Load(cluster.base, token, log, rate=rate, duration=3600, seed=seed, few_openings=True)
        thread = threading.Thread(target=lambda: box.setdefault("report", asyncio.run(load.run())), daemon=True)
        thread.start()
        try:
            for target in targets:
                time.sleep(rng.uniform(*gaps))
                at = time.monotonic() - began
                (cluster.kill_api if target == "api" else cluster.kill_worker)()
                time.sleep(rng.uniform(0, 0.5))
                (cluster.start_api if target == "api" else cluster.start_worker)()
                kills.append({"target": target, "killedAt": round(at, 3),
                              "upAgainAfter": round(time.monotonic() - began - at, 3)})  # fmt: skip
            time.sleep(rng.uniform(*gaps))  # load on the last restarted processes too
        finally:
            load.stop_requested.set()
            thread.join(120)
            log.close()
        with (workdir / "kills.jsonl").open("w") as out:
            out.writelines(json.dumps(kill) + "\n" for kill in kills)
        # Every process up; then run every window and call to its end.
        assert cluster.api is not None and cluster.api.poll() is None, cluster.log_tail("api")
        if split:
            assert cluster.worker is not None and cluster.worker.poll() is None, cluster.log_tail("worker")
        advance_began = time.monotonic()
        answer = httpx.post(f"{cluster.base}/emulator/v1/clock", json={"advance": "P2D"}, timeout=900)
        advance_seconds = time.monotonic() - advance_began
        if answer.status_code != 200:
            raise RuntimeError(f"advance P2D: {answer.status_code} {answer.text}")
        advance = answer.json()
    finally:
        cluster.stop()
    result = check(database_url, workdir / "client.jsonl", crash=True)
    result.load = box.get("report")
    return CrashRun(result, kills, advance, advance_seconds, time.monotonic() - began, seed)


def describe(run: CrashRun, title: str) -> None:
    print_report(run.result, title=title)
    targets = [kill["target"] for kill in run.kills]
    restarts = [kill["upAgainAfter"] for kill in run.kills]
    print(f"  kills: {len(run.kills)} (api {targets.count('api')}, worker {targets.count('worker')}), "
          f"restart to ready max {max(restarts, default=0):.1f} s; seed {run.seed}")  # fmt: skip
    processed = run.advance.get("processed", {})
    print(f"  advance P2D took {run.advance_seconds:.1f} s: {json.dumps(processed)[:300]}")
    print(f"  whole run {run.seconds:.1f} s; crash verdict: {'PASS' if run.ok else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--split",
        action="store_true",
        help="SQLite: serve with CCAAS_DIALER=off + one worker (always so on PostgreSQL)",
    )
    parser.add_argument("--api-kills", type=int, default=10)
    parser.add_argument("--worker-kills", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second during the kills")
    parser.add_argument("--min-gap", type=float, default=2.0)
    parser.add_argument("--max-gap", type=float, default=6.0)
    parser.add_argument("--clock-speed", type=float, default=60.0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--workdir")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    split = args.split or args.backend == "postgres"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    topology = "split" if split else "embedded"
    workdir = Path(args.workdir or ROOT / "var" / "soak" / f"{stamp}-crash-{args.backend}-{topology}")
    workdir.mkdir(parents=True, exist_ok=True)
    database_url, drop = make_database(args.backend, workdir)
    print(f"crash: {args.backend} ({topology}), {args.api_kills} API kills"
          f"{f', {args.worker_kills} worker kills' if split else ' (the dialer is inside)'} at {args.rate} req/s; "
          f"logs in {workdir}")  # fmt: skip
    try:
        run = run_crash(database_url, workdir, split=split, api_workers=2 if args.backend == "postgres" else 1,
                        api_kills=args.api_kills, worker_kills=args.worker_kills, rate=args.rate,
                        gaps=(args.min_gap, args.max_gap), seed=args.seed, clock_speed=args.clock_speed)  # fmt: skip
    finally:
        if not args.keep:
            drop()
    describe(run, f"crash {args.backend} {topology}")
    sys.exit(0 if run.ok else 1)


if __name__ == "__main__":
    main()
