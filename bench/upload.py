"""Run from file: a 100,000-row (~10 MB, the documented maximum) CSV through `ccaas-emulator upload` and a real serve.

The long form of tests/test_upload_cli.py (which uploads fewer rows in `make test`): a fresh database, a server with
the dialer off, one upload through the CLI over a real socket, timed from the CLI's start to its answer; then the
rows are counted (every good row a pending delivery and a contact). Three rows are bad on purpose and must be the
answer's rejections. The load average is printed with the figure: the machine is shared (docs/benchmarks.md).

    .venv/bin/python bench/upload.py                  # SQLite in a temporary folder
    .venv/bin/python bench/upload.py --postgres       # a throwaway database on CCAAS_TEST_POSTGRES_URL
    .venv/bin/python bench/upload.py --rows 20000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.demo import DEMO_VOICE_CONFIG
from tests.support.servers import CLI, start_server, stop
from tests.support.uploads import bad_lines, count_stored, write_contacts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ccaas-bench-upload-"))
    drop = None
    if args.postgres:
        from tests.support.postgres import POSTGRES_URL, create_postgres_database

        url, drop = create_postgres_database(POSTGRES_URL)
    else:
        url = f"sqlite:///{folder / 'ccaas.db'}"
    path = folder / "contacts.csv"
    write_contacts(path, args.rows)
    expected = bad_lines(args.rows)
    # No HTTPS listener: on a shared machine another emulator may hold the default 8443.
    server, process = start_server(url, CCAAS_DIALER="off", CCAAS_TLS_PORT="0", CCAAS_LIMITS="0")
    try:
        before = count_stored(url)  # the demo data's contacts and deliveries
        load = os.getloadavg()
        started = time.perf_counter()
        result = server_upload(server.env, path)
        elapsed = time.perf_counter() - started
        end = os.getloadavg()
        print(
            f"{'PostgreSQL' if args.postgres else 'SQLite'}: {args.rows:,} rows ({path.stat().st_size:,} bytes) "
            f"through `ccaas-emulator upload` in {elapsed:.1f} s ({elapsed / args.rows * 1e6:.0f} µs a row); load "
            f"average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at end {end[0]:.2f} {end[1]:.2f} "
            f"{end[2]:.2f} ({os.cpu_count()} CPUs)"
        )
        assert result.returncode == 0, result.stderr[-2000:]
        answer = json.loads(result.stdout)
        assert [item["line"] for item in answer["rejected"]] == sorted(expected), answer["rejected"]
        assert answer["accepted"] == args.rows - len(expected), answer["accepted"]
        pending, contacts = count_stored(url)
        good = args.rows - len(expected)
        assert (pending - before[0], contacts - before[1]) == (good, good), (before, pending, contacts)
    finally:
        stop(process)
        if drop is not None:
            drop()


def server_upload(env: dict[str, str], path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "upload", str(path), "--config", DEMO_VOICE_CONFIG], env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip


if __name__ == "__main__":
    main()
