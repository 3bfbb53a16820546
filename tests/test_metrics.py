"""Prometheus /metrics: request counters by route template, latency, and the database's figures at scrape time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ccaas_emulator import metrics
from ccaas_emulator.db.models import DeliveryEvent
from tests.support.demo import NOW
from tests.support.samples import fixture_bytes
from tests.support.servers import start_server, stop

VOICE = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
VOICE_ROUTE = "/api/data/{version}/CCaaS_CreateProactiveVoiceDelivery"
VOICE_CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8"
PROGRESSIVE_CONFIG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"


def scrape(get) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {sorted label pairs: value}} of one scrape."""
    response = get("/metrics")
    assert response.status_code == 200, response.text
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def requests_of(samples, route: str, status: str, method: str = "POST") -> float:
    key = (("method", method), ("route", route), ("status", status))
    return samples.get("ccaas_http_requests_total", {}).get(key, 0.0)


def test_metrics_answers_without_a_token_in_prometheus_text(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"ccaas_http_requests", "ccaas_http_request_duration_seconds", "ccaas_deliveries",
            "ccaas_dial_results", "ccaas_queue_depth"} <= names  # fmt: skip
    assert "_created" not in response.text


def test_requests_are_counted_by_route_template_and_status(client, agent_headers):
    before = scrape(client.get)
    delivery_id = uuid.uuid4()

    client.post(VOICE, content=fixture_bytes("000_voice_sample.json"), headers=agent_headers)
    client.post(VOICE.replace("v9.2", "v9.0"), content=fixture_bytes("000_voice_sample.json"), headers=agent_headers)
    client.post(VOICE, content=fixture_bytes("000_voice_sample_malformed.json"), headers=agent_headers)
    client.post(VOICE, content=b"{}", headers={"Content-Type": "application/json"})
    client.get(f"/api/data/v9.2/msdyn_proactive_deliveries({delivery_id})", headers=agent_headers)
    client.get("/api/data/v9.2/no_such_set", headers=agent_headers)
    client.request("BREW", "/health")
    client.get(f"/nowhere/{delivery_id}")
    after = scrape(client.get)

    def delta(route: str, status: str, method: str = "POST") -> float:
        return requests_of(after, route, status, method) - requests_of(before, route, status, method)

    assert delta(VOICE_ROUTE, "200") == 2  # v9.0 and v9.2 share one label
    assert delta(VOICE_ROUTE, "400") == 1
    assert delta(VOICE_ROUTE, "401") == 1
    assert delta("/api/data/{version}/msdyn_proactive_deliveries({key})", "404", "GET") == 1
    assert delta("/api/data/{rest:path}", "404", "GET") == 1  # the /api/data fallback
    assert delta("/health", "405", "other") == 1  # unknown methods fold into one label
    assert delta(metrics.UNMATCHED, "404", "GET") == 1
    # No raw path reaches a label: nothing carries a GUID.
    labels = [value for key in after["ccaas_http_requests_total"] for _, value in key]
    assert not any(str(delivery_id) in value for value in labels)
    histogram = after["ccaas_http_request_duration_seconds_count"]
    assert histogram[(("method", "POST"), ("route", VOICE_ROUTE))] >= 4


def test_route_labels_stay_bounded_whatever_clients_send(client, agent_headers):
    def routes() -> set[str]:
        return {dict(key)["route"] for key in scrape(client.get).get("ccaas_http_requests_total", {})}

    before = routes()
    sent = [str(uuid.uuid4()) for _ in range(30)]
    for key in sent:
        client.get(f"/api/data/v9.2/msdyn_proactive_deliveries({key})", headers=agent_headers)
        client.get(f"/{key}/anything")
        client.get(f"/api/data/v9.1/{key}", headers=agent_headers)
    after = routes()

    # 90 distinct paths, at most three new labels: the route template, the /api/data fallback, <unmatched>.
    assert after - before <= {
        "/api/data/{version}/msdyn_proactive_deliveries({key})",
        "/api/data/{rest:path}",
        metrics.UNMATCHED,
        "/metrics",
    }
    assert not any(key in route for route in after for key in sent)


def test_database_figures_are_read_at_scrape_time(client, agent_headers, database):
    body = {"ApiVersion": "1.0", "ProactiveEngagementConfigId": VOICE_CONFIG,
            "DestinationPhoneNumber": "+15550100", "ContactId": CONTACT}  # fmt: skip
    later = {**body, "Windows": [{"Start": (NOW + timedelta(days=1)).isoformat(),
                                  "End": (NOW + timedelta(days=2)).isoformat()}]}  # fmt: skip
    for _ in range(3):  # no windows: open from now for 24 hours, so due now
        assert client.post(VOICE, json=body, headers=agent_headers).status_code == 200
    assert client.post(VOICE, json=later, headers=agent_headers).status_code == 200  # Pending, not due yet
    with database.transaction() as session:
        for result in ("LiveAnswer", "LiveAnswer", "NoAnswer"):
            session.add(DeliveryEvent(delivery_id=uuid.uuid4(), at=NOW, from_status="InProcess",
                                      to_status="Complete", result=result, actor="test", detail={}))  # fmt: skip
        session.add(DeliveryEvent(delivery_id=uuid.uuid4(), at=NOW, from_status="Pending", to_status="Expired",
                                  result="Expired", actor="test", detail={}))  # fmt: skip

    samples = scrape(client.get)

    assert samples["ccaas_deliveries"][(("status", "Pending"),)] == 4
    assert samples["ccaas_deliveries"][(("status", "Complete"),)] == 0  # every status is listed, even at 0
    assert samples["ccaas_queue_depth"] == {(("engagement", VOICE_CONFIG),): 3}
    # Calls that ended (InProcess -> ...), by result; an expiry is no dial.
    assert samples["ccaas_dial_results_total"] == {(("result", "LiveAnswer"),): 2, (("result", "NoAnswer"),): 1}


def test_a_request_that_raises_is_counted_as_500():
    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    middleware = metrics.MetricsMiddleware(broken)
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    before = metrics.REQUESTS_TOTAL.labels("GET", metrics.UNMATCHED, "500")._value.get()

    with pytest.raises(RuntimeError):
        asyncio.run(middleware(scope, None, None))

    assert metrics.REQUESTS_TOTAL.labels("GET", metrics.UNMATCHED, "500")._value.get() == before + 1


@pytest.mark.slow  # serve with two worker processes
def test_serve_with_two_workers_adds_up_every_process_in_multiprocess_mode(tmp_path: Path):
    directory = tmp_path / "prometheus"
    server, process = start_server(
        f"sqlite:///{tmp_path / 'var' / 'ccaas.db'}", CCAAS_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(directory)
    )
    try:
        with httpx.Client(base_url=server.base, timeout=10) as http:
            ready_before = requests_of(scrape(http.get), "/ready", "200", "GET")
            for _ in range(40):  # a new connection each, so both processes take some
                assert httpx.get(f"{server.base}/health", timeout=10).status_code == 200
            counts = [requests_of(scrape(http.get), "/health", "200", "GET") for _ in range(6)]
    finally:
        stop(process)

    assert ready_before >= 1  # start_server's readiness probe, counted by whichever process answered it
    assert counts == [40] * 6  # whichever process answers the scrape, it sums every process's counters
    # Each process that answered keeps its own file (both, in practice: the kernel spreads the connections).
    assert 1 <= len(list(directory.glob("counter_*.db"))) <= 2
