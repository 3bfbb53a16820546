"""The short crash test (issue #6, part 3): under load, SIGKILL the processes at random moments and restart
them; every 200-acknowledged delivery is persisted with its attributes, none is dialled twice (at most one
journal entry to InProcess per delivery) and, after the clock is advanced two days, all are terminal.

SQLite: `serve` with the embedded dialer is killed twice. PostgreSQL: `serve --workers 2` with
CCAAS_DIALER=off (all its processes) is killed once and a separate `ccaas-emulator worker` once. The load,
the kills and the checks are bench/crash.py's (`make soak` runs the long form: ten kills of each)."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest
from bench.crash import describe, run_crash

pytestmark = pytest.mark.slow  # serve and worker processes, SIGKILLed under load


def test_sigkilled_processes_lose_no_acknowledged_delivery_and_dial_none_twice(database_for_server, tmp_path):
    postgres = database_for_server.startswith("postgresql")

    run = run_crash(
        database_for_server,
        tmp_path,
        split=postgres,
        api_workers=2 if postgres else 1,
        api_kills=1 if postgres else 2,
        worker_kills=1,
        rate=40,
        gaps=(1.0, 2.0),
    )

    report = io.StringIO()
    with redirect_stdout(report):
        describe(run, "short crash")
    logs = "".join(f"\n--- {name}.log\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-3000:]}"
                   for name in ("api", "worker") if (tmp_path / f"{name}.log").exists())  # fmt: skip
    assert run.ok, report.getvalue() + logs
    assert len(run.kills) == 2
    assert run.result.acknowledged > 50  # the kills happened under load
    assert not run.result.server_errors
