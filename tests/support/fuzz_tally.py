"""How many inputs the fuzzing sent, by operation, back end and answer, summed over the xdist workers.

The fuzz tests take the `fuzz_tally` fixture and record every input they send: an HTTP request with its
status, or a token handed to the verifier. At the end of the run the terminal summary shows one line per
operation and the totals. `make fuzz` sets CCAAS_FUZZ_TARGET: a run that sent fewer HTTP inputs than that
fails, so "100,000 inputs" is a count of requests that were actually sent, not of examples asked for
(Hypothesis stops early on an operation whose inputs run out).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

TALLY = pytest.StashKey[Counter[tuple[str, str, str]]]()
WORKER_OUTPUT = "ccaas_fuzz_tally"
VERIFIER = "token verifier (no HTTP)"


class FuzzTally:
    """One test's view of the run's tally: the back end comes from the test's parameters."""

    def __init__(self, counts: Counter[tuple[str, str, str]], backend: str) -> None:
        self._counts = counts
        self._backend = backend

    def request(self, operation: str, status: int) -> None:
        self._counts[(operation, self._backend, f"{status // 100}xx")] += 1

    def token(self, verified: bool) -> None:
        self._counts[(VERIFIER, "-", "verified" if verified else "401")] += 1


@pytest.fixture
def fuzz_tally(request: pytest.FixtureRequest) -> FuzzTally:
    callspec = getattr(request.node, "callspec", None)
    backend = str(callspec.params.get("session_database_url", "-")) if callspec is not None else "-"
    return FuzzTally(request.config.stash[TALLY], backend)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = Counter()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: add what a worker counted."""
    for operation, backend, answer, count in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT, []):
        node.config.stash[TALLY][(operation, backend, answer)] += count


def http_inputs(counts: Counter[tuple[str, str, str]]) -> int:
    return sum(count for (operation, _, _), count in counts.items() if operation != VERIFIER)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    counts = config.stash[TALLY]
    if hasattr(config, "workeroutput"):  # an xdist worker: hand the counts to the controller
        config.workeroutput[WORKER_OUTPUT] = [[*key, count] for key, count in counts.items()]
        return
    target = int(os.environ.get("CCAAS_FUZZ_TARGET", "0"))
    if target and http_inputs(counts) < target and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    counts = config.stash[TALLY]
    if not counts or hasattr(config, "workeroutput"):
        return
    answers = ["2xx", "3xx", "4xx", "5xx"]
    rows: dict[str, Counter[str]] = {}
    backends: Counter[str] = Counter()
    for (operation, backend, answer), count in counts.items():
        rows.setdefault(operation, Counter())[answer] += count
        if operation != VERIFIER:
            backends[backend] += count
    write = terminalreporter.write_line
    terminalreporter.section("fuzz inputs sent")
    width = max(len(operation) for operation in rows)
    write(f"{'operation':<{width}}  {'inputs':>8}  " + "  ".join(f"{answer:>6}" for answer in answers))
    for operation in sorted(rows, key=lambda name: (name == VERIFIER, name.split(" ", 1)[-1], name)):
        row = rows[operation]
        if operation == VERIFIER:
            write(f"{operation:<{width}}  {sum(row.values()):>8}  (401: {row['401']}, verified: {row['verified']})")
        else:
            write(f"{operation:<{width}}  {sum(row.values()):>8}  " + "  ".join(f"{row[a]:>6}" for a in answers))
    total = http_inputs(counts)
    server_errors = sum(count for (_, _, answer), count in counts.items() if answer == "5xx")
    by_backend = ", ".join(f"{backend} {count}" for backend, count in sorted(backends.items()))
    operations = sum(1 for operation in rows if operation != VERIFIER)
    write(f"HTTP inputs: {total} over {operations} operations ({by_backend}); 5xx: {server_errors}")
    target = int(os.environ.get("CCAAS_FUZZ_TARGET", "0"))
    if target and total < target:
        write(f"FAILED: fewer HTTP inputs than CCAAS_FUZZ_TARGET={target}", red=True)
