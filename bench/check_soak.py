"""Compare a soak or crash client's log (client.jsonl, written by bench/soak.py) with the database.

    .venv/bin/python bench/check_soak.py DATABASE_URL var/soak/<run>/client.jsonl [--crash]

For every acknowledged action (200 with a DeliveryId): the delivery is in msdyn_proactive_delivery with the
number it was sent to (and its RequestId as msdyn_tracking_id, its DeliveryTaskId in ccaas_delivery_task),
and its Input rows in msdyn_proactive_delivery_attribute are exactly the InputAttributes that were sent.
For every delivery in the table: at most one journal entry (emulator_delivery_event) to InProcess, i.e.
never dialled twice. With --crash also: every delivery in a terminal status, and every Complete one dialled
exactly once.

Prints requests by status, 5xx (must be 0), p50/p99 latency, rows checked, missing rows (must be 0); the
exit status is 1 when a requirement fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TERMINAL = ("Complete", "Expired", "Error", "Cancelled")
ACTIONS = ("voice", "chain", "sms")
COLUMNS = ("id", "to_address", "tracking_id", "task_id", "status", "result")


@dataclass
class CheckResult:
    crash: bool
    requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latency_ms: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # p50, p99, max
    acknowledged: int = 0
    deliveries_checked: int = 0
    attributes_checked: int = 0
    tasks_checked: int = 0
    deliveries_in_table: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    dials: int = 0
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)  # transport errors: no answer at all
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    dialled_twice: list[str] = field(default_factory=list)
    not_terminal: list[str] = field(default_factory=list)
    complete_undialled: list[str] = field(default_factory=list)
    load: Any = None

    @property
    def rows_checked(self) -> int:
        return self.deliveries_checked + self.attributes_checked + self.tasks_checked

    @property
    def ok(self) -> bool:
        problems = [self.server_errors, self.missing, self.mismatched, self.dialled_twice]
        if self.crash:
            problems += [self.not_terminal, self.complete_undialled]
        if self.load is not None:
            problems.append(self.load.read_mismatches)
        return self.acknowledged > 0 and not any(problems)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def read_log(path: Path) -> list[dict[str, Any]]:
    with path.open() as log:
        return [json.loads(line) for line in log if line.strip()]


def check(database_url: str, log_path: Path, *, crash: bool) -> CheckResult:
    from sqlalchemy import func, select

    from ccaas_emulator.db.engine import make_engine
    from ccaas_emulator.db.models import DeliveryAttribute, DeliveryEvent, DeliveryTask, ProactiveDelivery
    from ccaas_emulator.domain import AttributeType

    result = CheckResult(crash=crash)
    records = read_log(log_path)
    latencies: dict[str, list[float]] = defaultdict(list)
    acknowledged: list[dict[str, Any]] = []
    for record in records:
        status = str(record["status"])
        result.requests += 1
        result.by_status[status] += 1
        result.by_kind[record["kind"]][status] += 1
        if isinstance(record["status"], int):
            latencies["all"].append(record["ms"])
            latencies["actions" if record["kind"] in ACTIONS else "queries"].append(record["ms"])
            if record["status"] >= 500:
                result.server_errors.append(record)
            if record["kind"] in ACTIONS and record["status"] == 200:
                acknowledged.append(record)
        elif status != "skipped":
            result.dropped.append({k: v for k, v in record.items() if k != "sent"})
    result.latency_ms = {k: (percentile(v, 0.5), percentile(v, 0.99), max(v)) for k, v in latencies.items()}
    result.acknowledged = len(acknowledged)

    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            rows = {
                row.id: row
                for row in connection.execute(
                    select(*(getattr(ProactiveDelivery, name).label(name) for name in COLUMNS))
                )
            }
            attributes: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
            for delivery_id, keyword, value in connection.execute(
                select(DeliveryAttribute.delivery_id, DeliveryAttribute.keyword, DeliveryAttribute.value).where(
                    DeliveryAttribute.type == AttributeType.INPUT
                )
            ):
                attributes[delivery_id][keyword] = value
            tasks = set(connection.scalars(select(DeliveryTask.id)))
            dials = dict(
                connection.execute(
                    select(DeliveryEvent.delivery_id, func.count())
                    .where(DeliveryEvent.to_status == "InProcess")
                    .group_by(DeliveryEvent.delivery_id)
                ).all()
            )
    finally:
        engine.dispose()

    result.deliveries_in_table = len(rows)
    result.statuses = Counter(row.status for row in rows.values())
    result.results = Counter(row.result for row in rows.values() if row.result)
    result.dials = sum(dials.values())
    for record in acknowledged:
        delivery_id = uuid.UUID(record["deliveryId"])
        row = rows.get(delivery_id)
        label = f"{record['kind']} n={record['n']} DeliveryId={record['deliveryId']}"
        if row is None:
            result.missing.append(f"{label}: no msdyn_proactive_delivery row")
            continue
        result.deliveries_checked += 1
        sent = record["sent"]
        if row.to_address != sent["to"]:
            result.mismatched.append(f"{label}: msdyn_to_address {row.to_address!r}, sent {sent['to']!r}")
        if "trackingId" in sent and row.tracking_id != sent["trackingId"]:
            result.mismatched.append(f"{label}: msdyn_tracking_id {row.tracking_id!r}, sent {sent['trackingId']!r}")
        stored = attributes.get(delivery_id, {})
        result.attributes_checked += len(stored)
        for keyword, value in sent["attributes"].items():
            if keyword not in stored:
                result.missing.append(f"{label}: no Input attribute {keyword!r}")
            elif stored[keyword] != value:
                result.mismatched.append(f"{label}: attribute {keyword}={stored[keyword]!r}, sent {value!r}")
        if extra := set(stored) - set(sent["attributes"]):
            result.mismatched.append(f"{label}: Input attributes never sent: {sorted(extra)}")
        if record.get("taskId"):
            if uuid.UUID(record["taskId"]) not in tasks:
                result.missing.append(f"{label}: no ccaas_delivery_task row {record['taskId']}")
            else:
                result.tasks_checked += 1
            if row.task_id != uuid.UUID(record["taskId"]):
                result.mismatched.append(f"{label}: task {row.task_id}, answered {record['taskId']}")
    result.dialled_twice = [f"{d}: {n} dials" for d, n in dials.items() if n > 1]
    if crash:
        result.not_terminal = [f"{d}: {row.status}" for d, row in rows.items() if row.status not in TERMINAL]
        result.complete_undialled = [
            str(d) for d, row in rows.items() if row.status == "Complete" and dials.get(d) != 1
        ]
    return result


def _listed(name: str, items: list[Any], limit: int = 20) -> None:
    print(f"  {name}: {len(items)}")
    for item in items[:limit]:
        print(f"    {json.dumps(item) if isinstance(item, dict) else item}")
    if len(items) > limit:
        print(f"    ... and {len(items) - limit} more")


def print_report(result: CheckResult, *, title: str) -> None:
    print(f"== {title}")
    if result.load is not None:
        load = result.load
        print(f"  sent {load.sent} requests in {load.seconds:.1f} s ({load.sent / max(load.seconds, 1e-9):.1f} req/s), "
              f"skipped (in-flight bound) {load.skipped}, worst schedule lag {load.max_lag_ms:.1f} ms")  # fmt: skip
    skipped = result.by_status.get("skipped", 0)
    print(f"  steady offered rate: {'held' if not skipped else f'NOT HELD ({skipped} of {result.requests} not sent)'}")
    print(f"  requests logged: {result.requests}; by status: {dict(sorted(result.by_status.items()))}")
    for kind, statuses in sorted(result.by_kind.items()):
        print(f"    {kind:7} {dict(sorted(statuses.items()))}")
    for scope, (p50, p99, worst) in sorted(result.latency_ms.items()):
        print(f"  latency {scope:8} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {worst:8.1f} ms")
    print(f"  acknowledged deliveries: {result.acknowledged}; deliveries in the table: {result.deliveries_in_table}")
    print(f"  rows checked: {result.rows_checked} ({result.deliveries_checked} deliveries, "
          f"{result.attributes_checked} attributes, {result.tasks_checked} tasks)")  # fmt: skip
    print(f"  statuses: {dict(sorted(result.statuses.items()))}")
    print(f"  results: {dict(sorted(result.results.items()))}; dials (journal to InProcess): {result.dials}")
    _listed("5xx answers (must be 0)", result.server_errors)
    label = "killed processes" if result.crash else "should be 0"
    _listed(f"requests with no answer (connection refused or dropped: {label})", result.dropped, 12)
    _listed("missing rows (must be 0)", result.missing)
    _listed("rows unlike what was sent (must be 0)", result.mismatched)
    _listed("deliveries dialled more than once (must be 0)", result.dialled_twice)
    if result.load is not None:
        _listed("read-back mismatches (must be 0)", result.load.read_mismatches)
    if result.crash:
        _listed("deliveries not terminal (must be 0)", result.not_terminal)
        _listed("Complete deliveries without exactly one dial (must be 0)", result.complete_undialled)
    print(f"  verdict: {'PASS' if result.ok else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("log", type=Path)
    parser.add_argument("--crash", action="store_true", help="also require every delivery terminal")
    args = parser.parse_args()
    result = check(args.database_url, args.log, crash=args.crash)
    print_report(result, title=str(args.log))
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
