"""$batch: multipart/mixed requests and change sets (wire-facts E12)."""

from __future__ import annotations

import logging
import re
import uuid

import orjson
import pytest

from ccaas_emulator.odata import batch as batch_module
from tests.support.demo import ORG_URL
from tests.support.urls import CONFIGS, ROOT

BATCH = "/api/data/v9.2/$batch"


def multipart(boundary: str, parts: list[str]) -> str:
    return "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"


def request_part(method: str, url: str, body: dict | None = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    lines = f"{method} {url} HTTP/1.1\r\nAccept: application/json\r\n"
    if body is not None:
        lines += "Content-Type: application/json; type=entry\r\n\r\n" + orjson.dumps(body).decode()
    else:
        lines += "\r\n"
    return head + "\r\n" + lines


def change_set(boundary: str, parts: list[str]) -> str:
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n" + multipart(boundary, parts).rstrip("\r\n")


def send(emulator, headers: dict[str, str], body: str, **extra: str):
    return emulator.client.post(
        BATCH,
        content=body.encode(),
        headers={**headers, "Content-Type": "multipart/mixed; boundary=batch_AAA123", **extra},
    )


def answers(response) -> list[tuple[int, str]]:
    """(status, body) of every HTTP response inside the multipart answer, change sets flattened."""
    found = re.findall(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n(.*?)\r\n\r\n(.*?)\r\n--", response.content, re.S)
    return [(int(status), body.decode()) for status, _, body in found]


def test_queries_in_one_batch_are_answered_in_order(emulator, as_user):
    emulator.post()
    body = multipart(
        "batch_AAA123",
        [
            request_part("GET", f"{ROOT}msdyn_proactive_deliveries?$select=msdyn_status"),
            request_part("GET", "/api/data/v9.2/msdyn_proactive_engagement_configs?$select=msdyn_name&$top=1"),
            request_part("GET", "msdyn_proactive_deliveries/$count"),
        ],
    )

    response = send(emulator, as_user(), body)

    assert response.status_code == 200, response.text
    boundary = response.headers["content-type"].split("boundary=")[1]
    assert response.headers["content-type"] == f"multipart/mixed; boundary={boundary}"
    assert boundary.startswith("batchresponse_")
    assert response.text.count("Content-Type: application/http\r\nContent-Transfer-Encoding: binary") == 3
    (first, deliveries), (second, configs), (third, count) = answers(response)
    assert (first, second, third) == (200, 200, 200)
    assert orjson.loads(deliveries)["value"][0]["msdyn_status"] == "Pending"
    assert len(orjson.loads(configs)["value"]) == 1
    assert count == "1"


def test_a_change_set_refers_to_what_an_earlier_request_created(emulator, as_user):
    inner = change_set(
        "changeset_BBB456",
        [
            request_part("POST", f"{ROOT}msdyn_proactive_engagement_configs", {"msdyn_name": "Batched"}, "1"),
            request_part("PATCH", "$1", {"msdyn_description": "patched through $1"}, "2"),
        ],
    )

    response = send(emulator, as_user("admin"), multipart("batch_AAA123", [inner]))

    assert response.status_code == 200, response.text
    assert "Content-Type: multipart/mixed; boundary=changesetresponse_" in response.text
    assert re.findall(r"Content-ID: (\d)", response.text) == ["1", "2"]
    assert [status for status, _ in answers(response)] == [204, 204]
    rows = emulator.client.get(f"{CONFIGS}?$filter=msdyn_name eq 'Batched'", headers=as_user()).json()["value"]
    assert [row["msdyn_description"] for row in rows] == ["patched through $1"]


def test_a_failed_change_set_writes_nothing_and_is_answered_by_its_failure(emulator, as_user):
    inner = change_set(
        "changeset_BBB456",
        [
            request_part("POST", "msdyn_proactive_engagement_configs", {"msdyn_name": "Never"}, "1"),
            request_part("PATCH", "$1", {"msdyn_priority": 7}, "2"),
        ],
    )

    response = send(emulator, as_user("admin"), multipart("batch_AAA123", [inner]))

    assert response.status_code == 400
    [(status, body)] = answers(response)
    assert status == 400 and orjson.loads(body)["error"]["code"] == "0x8004431a"
    assert "changesetresponse_" not in response.text
    never = emulator.client.get(f"{CONFIGS}?$filter=msdyn_name eq 'Never'", headers=as_user()).json()["value"]
    assert never == []  # the change set is one transaction


def test_the_batch_stops_at_the_first_failure_unless_asked_to_go_on(emulator, as_user):
    body = multipart(
        "batch_AAA123",
        [
            request_part("GET", "nosuchset"),
            request_part("GET", "msdyn_proactive_deliveries/$count"),
        ],
    )

    stopped = send(emulator, as_user(), body)
    going_on = send(emulator, as_user(), body, Prefer="odata.continue-on-error")

    assert stopped.status_code == 400
    assert [status for status, _ in answers(stopped)] == [404]
    assert going_on.status_code == 200
    assert going_on.headers["preference-applied"] == "odata.continue-on-error"
    assert [status for status, _ in answers(going_on)] == [404, 200]


def test_parts_run_as_the_batchs_caller_unless_they_say_otherwise(emulator, as_user):
    body = multipart("batch_AAA123", [request_part("POST", "msdyn_proactive_engagement_configs", {"msdyn_name": "x"})])

    as_agent = send(emulator, as_user("agent"), body)
    no_token = emulator.client.post(
        BATCH, content=body, headers={"Content-Type": "multipart/mixed; boundary=batch_AAA123"}
    )

    assert [status for status, _ in answers(as_agent)] == [403]
    assert no_token.status_code == 401


def test_malformed_batches_are_refused_whole(emulator, as_user):
    headers = as_user()
    cases = [
        ("application/json", "{}"),
        ("multipart/mixed; boundary=batch_AAA123", "no delimiter at all"),
        (
            "multipart/mixed; boundary=batch_AAA123",
            "--batch_AAA123\r\nContent-Type: application/http\r\n\r\nNOT A REQUEST\r\n--batch_AAA123--",
        ),
        (
            "multipart/mixed; boundary=batch_AAA123",
            multipart("batch_AAA123", [request_part("GET", "x")]).removesuffix("--batch_AAA123--\r\n"),
        ),
        (
            "multipart/mixed; boundary=batch_AAA123",
            multipart(
                "batch_AAA123",
                [change_set("changeset_C", [request_part("GET", "msdyn_proactive_deliveries", content_id="1")])],
            ),
        ),
        (
            "multipart/mixed; boundary=batch_AAA123",
            multipart(
                "batch_AAA123",
                [
                    change_set(
                        "changeset_C", [request_part("DELETE", f"msdyn_proactive_engagement_configs({uuid.uuid4()})")]
                    )
                ],
            ),
        ),
        ("multipart/mixed; boundary=batch_AAA123", multipart("batch_AAA123", [request_part("GET", "x")] * 1001)),
    ]
    for content_type, body in cases:
        response = emulator.client.post(BATCH, content=body.encode(), headers={**headers, "Content-Type": content_type})
        assert response.status_code == 400, (body[:80], response.text)
        assert response.json()["error"]["code"] == "0x80060888"


NESTED = {"code": "0x80060888", "message": "The batch request is not valid: a batch cannot contain another batch."}


def batch_part(url: str, body: str, boundary: str) -> str:
    """A part that POSTs a whole batch."""
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    return f"{head}POST {url} HTTP/1.1\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n{body}"


def nested_batch(depth: int, *, url: str = "%24batch", width: int = 1) -> str:
    """A batch whose part posts a batch whose part posts a batch ... `depth` levels; the innermost holds GETs."""
    boundary = f"batch_L{depth}_"
    body = multipart(boundary, [request_part("GET", "msdyn_proactive_deliveries/$count")] * width)
    for level in range(depth - 1, -1, -1):
        outer = "batch_AAA123" if level == 0 else f"batch_L{level}_"
        body = multipart(outer, [batch_part(url, body, boundary)])
        boundary = outer
    return body


@pytest.mark.parametrize(
    "url",
    [
        "$batch",
        "%24batch",
        "%24BATCH",
        "$Batch/",
        "/api/data/v9.2/./$batch",
        "/api/data/v9.2//$BATCH",
        "/api/data/v9.2/%24batch",
        "/api/data/v9.2/x/../%24batch",
        "/api/data/v9.2/%2e/%24batch",
        "/api/data/v9.0/$batch",
        "/api//data///v9.2/$batch?x=1",
        f"{ORG_URL}/api/data/v9.2/%24batch",
        f"{ORG_URL.upper()}/api/data/v9.2/$BATCH",
    ],
)
def test_a_batch_cannot_hold_a_batch_at_any_spelling(emulator, as_user, url):
    response = send(emulator, as_user(), nested_batch(1, url=url))

    assert response.status_code == 400
    [(status, body)] = answers(response)
    assert status == 400 and orjson.loads(body) == {"error": NESTED}
    assert "OData-Version: 4.0" in response.text


def test_a_double_encoded_batch_segment_is_an_unknown_segment_not_a_batch(emulator, as_user):
    """`%2524batch` decodes (once, as every server does) to a segment named `%24batch`: nothing runs it as $batch."""
    response = send(emulator, as_user(), nested_batch(1, url="%2524batch"))

    assert response.status_code == 400
    [(status, body)] = answers(response)
    assert status == 404 and orjson.loads(body)["error"]["code"] == "0x8006088a"


def test_deep_nesting_is_refused_at_the_first_level_quickly_and_quietly(emulator, as_user, caplog):
    """The probe: 30 levels of `%24batch` gave a RecursionError 500 and ~3 MB of log per 5 KB request."""
    body = nested_batch(40)
    caplog.set_level(logging.DEBUG)

    response = send(emulator, as_user(), body)

    assert response.status_code == 400, response.text[:500]
    [(status, answer)] = answers(response)
    assert status == 400 and orjson.loads(answer) == {"error": NESTED}
    assert len(caplog.text) < 5_000, caplog.text[:2000]


def test_the_request_cap_counts_every_level(emulator, as_user):
    """Nested batches of 600 each once ran 600 requests apiece under a cap of 1000: now none of them runs."""
    inner = multipart("batch_BBB", [request_part("GET", "msdyn_proactive_deliveries/$count")] * 600)
    body = multipart("batch_AAA123", [batch_part("%24batch", inner, "batch_BBB")] * 2)

    response = send(emulator, as_user(), body, Prefer="odata.continue-on-error")

    assert response.status_code == 200
    assert [status for status, _ in answers(response)] == [400, 400]
    assert "HTTP/1.1 200" not in response.text


def test_a_change_sets_requests_count_towards_the_cap(emulator, as_user):
    reads = [request_part("GET", "msdyn_proactive_deliveries/$count")] * 500
    writes = [
        request_part("POST", "msdyn_proactive_engagement_configs", {"msdyn_name": "x"}, str(i)) for i in range(501)
    ]

    response = send(emulator, as_user("admin"), multipart("batch_AAA123", [*reads, change_set("changeset_C", writes)]))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x80060888",
        "message": "The batch request is not valid: a batch holds at most 1000 requests.",
    }


@pytest.mark.parametrize(
    "url",
    [
        "/emulator/v1/reset",
        "/emulator/v1/clock",
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/api/data/v9.2/../../emulator/v1/reset",
        "/api/data/v9.2/%2e%2e/%2e%2e/emulator/v1/reset",
        "/api/data/v9.2/..%2f..%2femulator/v1/reset",
        "../../emulator/v1/reset",
        "/api/other/v9.2/msdyn_proactive_deliveries",
        f"{ORG_URL}/emulator/v1/reset",
        "https://attacker.example/api/data/v9.2/msdyn_proactive_deliveries",
        "//attacker.example/api/data/v9.2/msdyn_proactive_deliveries",
    ],
)
def test_a_part_may_address_the_web_api_only(emulator, as_user, url):
    emulator.post()

    response = send(emulator, as_user(), multipart("batch_AAA123", [request_part("POST", url, {"x": 1})]))

    assert response.status_code == 400
    [(status, body)] = answers(response)
    assert status == 400
    error = orjson.loads(body)["error"]
    assert error["code"] == "0x80060888"
    assert error["message"].startswith("The batch request is not valid: the request URL '")
    assert error["message"].endswith("' of a batch part is not within the service root /api/data/v9.x/.")
    count = emulator.client.get("/api/data/v9.2/msdyn_proactive_deliveries/$count", headers=as_user())
    assert count.text == "1"  # no reset ran


@pytest.mark.parametrize(
    "url",
    [
        "msdyn_proactive_deliveries/$count",
        "/api/data/v9.2/msdyn_proactive_deliveries/$count",
        "/api/data/v9.2//msdyn_proactive_deliveries/./$count",
        "/api/data/v9.2/x/../msdyn_proactive_deliveries/%24count",
        f"{ORG_URL}/api/data/v9.2/msdyn_proactive_deliveries/$count",
        f"{ORG_URL}:443/api/data/v9.1/msdyn_proactive_deliveries/$count",
    ],
)
def test_parts_address_the_web_api_relative_or_absolute_on_the_same_origin(emulator, as_user, url):
    emulator.post()

    response = send(emulator, as_user(), multipart("batch_AAA123", [request_part("GET", url)]))

    assert response.status_code == 200, response.text
    assert answers(response) == [(200, "1")]


def test_even_a_part_the_url_check_missed_cannot_enter_batch(emulator, as_user, monkeypatch):
    """Depth is 1 by construction: the $batch route refuses any request that a batch part dispatched."""
    monkeypatch.setattr(batch_module, "web_api_path", lambda path: path)

    response = send(emulator, as_user(), nested_batch(3, url="/api/data/v9.2/$batch"))

    assert response.status_code == 400
    [(status, body)] = answers(response)
    assert status == 400 and orjson.loads(body) == {"error": NESTED}


def test_an_action_in_a_failed_change_set_leaves_no_delivery(emulator, as_user):
    voice = {
        "ApiVersion": "1.0",
        "ProactiveEngagementConfigId": "cbbac510-3e66-ef11-a671-6045bd03d9d8",
        "DestinationPhoneNumber": "+15550100",
        "ContactId": "761e062f-c734-ef11-8e4f-00224808a166",
    }
    committed = change_set("changeset_D", [request_part("POST", "CCaaS_CreateProactiveVoiceDelivery", voice, "1")])
    undone = change_set(
        "changeset_E",
        [
            request_part("POST", "CCaaS_CreateProactiveVoiceDelivery", voice, "1"),
            request_part("POST", "msdyn_proactive_engagement_configs", {"msdyn_priority": 9}, "2"),
        ],
    )

    first = send(emulator, as_user("admin"), multipart("batch_AAA123", [committed]))
    second = send(emulator, as_user("admin"), multipart("batch_AAA123", [undone]))

    assert first.status_code == 200 and [status for status, _ in answers(first)] == [200]
    assert second.status_code == 400 and [status for status, _ in answers(second)] == [400]
    count = emulator.client.get("/api/data/v9.2/msdyn_proactive_deliveries/$count", headers=as_user())
    assert count.text == "1"  # only the first batch's delivery
