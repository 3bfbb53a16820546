"""What MetricsMiddleware adds to every request: the bare ASGI call, with and without it, in the same run.

    .venv/bin/python bench/middleware.py [--rounds 20000]

Prints microseconds per call for both and their ratio. An action's round trip is milliseconds
(docs/benchmarks.md), so tens of microseconds would still be a few per cent. This was a unit test with a
50 µs bound; timing does not belong in unit tests (it failed on a loaded machine), so it is measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ccaas_emulator import metrics  # noqa: E402


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def sink(message: Any) -> None:
    return None


class Route:
    path = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"


def per_call(handler: Any, rounds: int) -> float:
    """Seconds per call, the best of three runs (the least disturbed by the rest of the machine)."""

    async def run() -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            await handler({"type": "http", "method": "POST", "route": Route}, None, sink)
        return (time.perf_counter() - started) / rounds

    return min(asyncio.run(run()) for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    bare = per_call(bare_app, rounds)
    wrapped = per_call(metrics.MetricsMiddleware(bare_app), rounds)
    print(f"bare ASGI call      {bare * 1e6:7.2f} µs")
    print(
        f"with the middleware {wrapped * 1e6:7.2f} µs  (ratio {wrapped / bare:.1f}, +{(wrapped - bare) * 1e6:.1f} µs)"
    )


if __name__ == "__main__":
    main()
