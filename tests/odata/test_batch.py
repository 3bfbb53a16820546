"""$batch: multipart/mixed requests and change sets (wire-facts E12)."""

from __future__ import annotations

import re
import uuid

import orjson

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


def test_a_batch_cannot_hold_a_batch(emulator, as_user):
    response = send(emulator, as_user(), multipart("batch_AAA123", [request_part("POST", "$batch", {})]))

    assert response.status_code == 400
    [(status, body)] = answers(response)
    assert status == 400 and "cannot contain another batch" in body


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
