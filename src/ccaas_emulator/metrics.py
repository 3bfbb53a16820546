"""Prometheus `/metrics`: request counts and latency (this process), deliveries and queues (the database).

Outside /api/data/ and needing no token, like /health and /ready.

- `ccaas_http_requests_total{method,route,status}` and `ccaas_http_request_duration_seconds{method,route}` are
  counted by a pure ASGI middleware in the process that answered. `route` is the route's template with the API
  version folded (`/api/data/{version}/CCaaS_CreateProactiveVoiceDelivery`,
  `/api/data/{version}/msdyn_proactive_deliveries({key})`), `<unmatched>` when no route took the request, so
  the label set is bounded whatever clients send.
- `ccaas_deliveries{status}`, `ccaas_dial_results_total{result}` and `ccaas_queue_depth{engagement}` are read
  from the database at scrape time (three GROUP BY statements), so they are the same whichever process
  answers, and include what `ccaas-emulator worker` processes did.

With `serve --workers N` each process keeps its own request counters, unless PROMETHEUS_MULTIPROC_DIR names
a directory (created if missing; empty it before each start): then every process writes its counters there
and each scrape adds them up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROCESS_DIR:  # prometheus_client opens its files there from the first metric on
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from ccaas_emulator.clock import Clock  # noqa: E402
from ccaas_emulator.db.models import DeliveryEvent, ProactiveDelivery  # noqa: E402
from ccaas_emulator.db.transaction import Database  # noqa: E402
from ccaas_emulator.domain import DeliveryStatus  # noqa: E402

CONTENT_TYPE = CONTENT_TYPE_LATEST  # what prometheus_client serves generate_latest() with
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_VERSION = re.compile(r"^/api/data/v9\.[0-2](?=/|$)")

# No *_created series: they double the output and no dashboard reads them. (prometheus_client: unannotated.)
disable_created_metrics()  # type: ignore[no-untyped-call]

# The process's own registry: the request metrics only (the database ones are built per scrape).
REQUESTS = CollectorRegistry(auto_describe=True)
REQUESTS_TOTAL = Counter(
    "ccaas_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REQUESTS,
)
REQUEST_SECONDS = Histogram(
    "ccaas_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REQUESTS,
)

_route_labels: dict[str, str] = {}


def route_label(scope: Scope) -> str:
    """The template of the route that served the request (bounded), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    label = _route_labels.get(path)
    if label is None:
        label = _route_labels[path] = _VERSION.sub("/api/data/{version}", path)
    return label


class MetricsMiddleware:
    """Pure ASGI middleware: one counter increment and one histogram observation per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_label(scope)
            key = (method, route, status)
            series = _series.get(key)
            if series is None:
                series = _series[key] = (
                    REQUESTS_TOTAL.labels(method, route, str(status)),
                    REQUEST_SECONDS.labels(method, route),
                )
            series[0].inc()
            series[1].observe(elapsed)


_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
"""Each label set's counter and histogram, looked up once: labels() takes a lock and builds its key each call.
Bounded as the label sets are (methods, route templates, status codes)."""


class DatabaseCollector(Collector):
    """Deliveries by status, dial outcomes and queue depth, read at scrape time (one GROUP BY each)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def read(self) -> list[Metric]:
        delivery, event = ProactiveDelivery, DeliveryEvent
        now = self.clock.now()
        with self.database.read() as session:
            by_status = session.execute(select(delivery.status, func.count()).group_by(delivery.status)).all()
            # A call's end is the journal's one InProcess -> terminal change that carries its result.
            results = session.execute(
                select(event.result, func.count())
                .where(event.from_status == DeliveryStatus.IN_PROCESS, event.result.is_not(None))
                .group_by(event.result)
            ).all()
            due = session.execute(
                select(delivery.engagement_config_id, func.count())
                .where(
                    delivery.status == DeliveryStatus.PENDING,
                    delivery.window_start_date <= now,
                    delivery.window_end_date > now,
                )
                .group_by(delivery.engagement_config_id)
            ).all()

        deliveries = GaugeMetricFamily(
            "ccaas_deliveries", "Deliveries (msdyn_proactive_delivery rows) by msdyn_status.", labels=["status"]
        )
        counts: dict[str, int] = {str(status): 0 for status in DeliveryStatus}
        counts |= {str(status): count for status, count in by_status}
        for status, count in sorted(counts.items()):
            deliveries.add_metric([status], count)
        dials = CounterMetricFamily(
            "ccaas_dial_results",
            "Calls ended, by msdyn_result (from the journal, emulator_delivery_event; POST /emulator/v1/reset "
            "empties it).",
            labels=["result"],
        )
        for result, count in sorted(results):
            dials.add_metric([str(result)], count)  # never None: the query skips events without a result
        depth = GaugeMetricFamily(
            "ccaas_queue_depth",
            "Pending deliveries whose current window is open now (simulated clock), by engagement configuration.",
            labels=["engagement"],
        )
        for engagement, count in sorted(due):
            depth.add_metric([engagement], count)
        return [deliveries, dials, depth]

    def collect(self) -> Iterator[Metric]:
        yield from self.read()


class _Fixed(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def exposition(database: Database, clock: Clock) -> bytes:
    """The text exposition of one scrape: this process's (or all processes') requests, and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_DIR:
        MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]  # unannotated
    else:
        registry.register(_Fixed(REQUESTS.collect()))
    registry.register(_Fixed(DatabaseCollector(database, clock).read()))
    return generate_latest(registry)
