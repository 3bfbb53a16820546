"""Every refusal of the task APIs: the Dataverse envelope with the right status, and nothing written."""

from __future__ import annotations

import uuid

import pytest

from tests.support.demo import DEMO_VOICE_CONFIG
from tests.support.tasks import (
    CANCEL_URL,
    GET_TASKS,
    OPERATION_URL,
    create_sample_task,
    get_tasks_url,
    operation,
    read_config,
    read_delivery,
    read_task,
)
from tests.support.tokens import bearer

UNKNOWN = "00000000-0000-4000-8000-000000000bad"
GUID_HELP = "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."


def error(code, message):
    return {"error": {"code": code, "message": message}}


# --- 401 and 403, before anything about the request ----------------------------------------------------------

OPERATIONS = [
    ("GET", get_tasks_url(UNKNOWN, "v9.0"), None),
    ("POST", CANCEL_URL, {"ApiVersion": "1.0", "DeliveryTaskId": UNKNOWN}),
    ("POST", OPERATION_URL, {"ApiVersion": "1.0", "Operation": "Suspend", "ProactiveEngagementConfigId": UNKNOWN}),
]


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
def test_no_token_is_401_with_the_challenge(client, method, url, body):
    response = client.request(method, url, json=body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer authorization_uri=")
    assert response.json()["error"]["code"] == "0x8004A103"


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
def test_a_user_without_an_omnichannel_role_is_403_whatever_the_request_says(client, tokens, method, url, body):
    headers = bearer(tokens.for_user("norole"))
    bad = {"ApiVersion": "2.0", "Bogus": 1} if body is not None else None

    for sent, target in ((body, url), (bad, url.replace(UNKNOWN, "not-a-guid"))):
        response = client.request(method, target, json=sent, headers=headers)
        assert response.status_code == 403, response.text
        name = target.rsplit("/", 1)[-1].split("(")[0]
        assert response.json()["error"]["code"] == "0x80040220"
        assert response.json()["error"]["message"].endswith(f"role required to call {name}.")


def test_a_403_cancel_changes_nothing(client, agent_headers, tokens, database):
    task_id, delivery_id = create_sample_task(client, agent_headers)

    response = client.post(
        CANCEL_URL, json={"ApiVersion": "1.0", "DeliveryTaskId": task_id}, headers=bearer(tokens.for_user("norole"))
    )

    assert response.status_code == 403
    assert (read_task(database, task_id).status, read_delivery(database, delivery_id).status) == ("Pending", "Pending")


def test_an_administrator_may_use_them(client, tokens, database):
    response = operation(
        client, bearer(tokens.for_user("admin")), "Suspend", ProactiveEngagementConfigId=DEMO_VOICE_CONFIG
    )

    assert response.status_code == 202
    assert read_config(database, DEMO_VOICE_CONFIG).suspended is True


# --- 404: record not found (not the unknown-segment 0x8006088a) -------------------------------------------------


def test_an_unknown_task_is_404_for_get_and_cancel(client, agent_headers):
    expected = error("0x80040217", f"Entity 'ccaas_delivery_task' With Id = {UNKNOWN} Does Not Exist")

    got = client.get(get_tasks_url(UNKNOWN), headers=agent_headers)
    cancelled = client.post(CANCEL_URL, json={"ApiVersion": "1.0", "DeliveryTaskId": UNKNOWN}, headers=agent_headers)

    assert (got.status_code, got.json()) == (404, expected)
    assert (cancelled.status_code, cancelled.json()) == (404, expected)


@pytest.mark.parametrize(
    ("name", "ids", "entity"),
    [
        ("Cancel", {"DeliveryId": UNKNOWN}, "msdyn_proactive_delivery"),
        ("Cancel", {"ProactiveEngagementConfigId": UNKNOWN}, "msdyn_proactive_engagement_config"),
        (
            "Cancel",
            {"ProactiveEngagementConfigId": UNKNOWN, "DeliveryId": UNKNOWN},
            "msdyn_proactive_engagement_config",
        ),
        ("Suspend", {"ProactiveEngagementConfigId": UNKNOWN}, "msdyn_proactive_engagement_config"),
        ("Resume", {"ProactiveEngagementConfigId": UNKNOWN}, "msdyn_proactive_engagement_config"),
    ],
)
def test_an_unknown_delivery_or_engagement_is_404(client, agent_headers, name, ids, entity):
    response = operation(client, agent_headers, name, **ids)

    assert response.status_code == 404
    assert response.json() == error("0x80040217", f"Entity '{entity}' With Id = {UNKNOWN} Does Not Exist")


# --- 400: the function's parameter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", error("0x80040200", "Required parameter 'DeliveryTaskId' is missing.")),
        ("()", error("0x80040200", "Required parameter 'DeliveryTaskId' is missing.")),
        ("(DeliveryTaskId=@p1)", error("0x80040200", "Required parameter 'DeliveryTaskId' is missing.")),
        ("(DeliveryTaskId=null)", error("0x80040200", "Required parameter 'DeliveryTaskId' is missing.")),
        ("(DeliveryTaskId='')", error("0x80040203", f"Invalid DeliveryTaskId '': {GUID_HELP}")),
        ("(DeliveryTaskId=12345)", error("0x80040203", f"Invalid DeliveryTaskId '12345': {GUID_HELP}")),
        ("(DeliveryTaskId=@p1)?@p1=nope", error("0x80040203", f"Invalid DeliveryTaskId 'nope': {GUID_HELP}")),
        (
            "(TaskId=1)",
            error(
                "0x80048d19",
                "The parameter 'TaskId' in the request payload is not a valid parameter for the operation "
                "'CCaaS_GetDeliveryTasks'.",
            ),
        ),
        (
            f"({UNKNOWN})",
            error(
                "0x80040203",
                f"CCaaS_GetDeliveryTasks takes its parameter by name: CCaaS_GetDeliveryTasks(DeliveryTaskId=<guid>); "
                f"got '{UNKNOWN}'.",
            ),
        ),
        (
            f"(DeliveryTaskId={UNKNOWN},DeliveryTaskId={UNKNOWN})",
            error("0x80040203", "The parameter 'DeliveryTaskId' is given more than once."),
        ),
    ],
)
def test_a_missing_or_malformed_function_parameter_is_400(client, agent_headers, arguments, expected):
    response = client.get(f"/api/data/v9.0/{GET_TASKS}{arguments}", headers=agent_headers)

    assert response.status_code == 400, response.text
    assert response.json() == expected


# --- 400: the actions' bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ApiVersion": "1.0"}, error("0x80040200", "Required parameter 'DeliveryTaskId' is missing.")),
        ({"DeliveryTaskId": UNKNOWN}, error("0x80040200", "Required parameter 'ApiVersion' is missing.")),
        (
            {"ApiVersion": "2.0", "DeliveryTaskId": UNKNOWN},
            error("0x80040203", "Unsupported ApiVersion '2.0'. The supported version is '1.0'."),
        ),
        ({"ApiVersion": "1.0", "DeliveryTaskId": "x"}, error("0x80040203", f"Invalid DeliveryTaskId 'x': {GUID_HELP}")),
        (
            {"ApiVersion": "1.0", "DeliveryTaskId": 7},
            error(
                "0x80048d19",
                "Invalid value for the parameter 'DeliveryTaskId' of the operation 'CCaaS_CancelDeliveryTask': "
                "expected a string holding a GUID, got a number.",
            ),
        ),
        (
            {"ApiVersion": "1.0", "DeliveryTaskId": UNKNOWN, "DeliveryId": UNKNOWN},
            error(
                "0x80048d19",
                "The parameter 'DeliveryId' in the request payload is not a valid parameter for the operation "
                "'CCaaS_CancelDeliveryTask'.",
            ),
        ),
        ([], error("0x80048d19", "The request body must be a JSON object of the action's parameters.")),
    ],
)
def test_a_bad_cancel_body_is_400(client, agent_headers, body, expected):
    response = client.post(CANCEL_URL, json=body, headers=agent_headers)

    assert response.status_code == 400, response.text
    assert response.json() == expected


ALLOWED = "Suspend, Resume, Cancel"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ApiVersion": "1.0"}, f"Required parameter 'Operation' is missing; use one of {ALLOWED}."),
        ({"ApiVersion": "1.0", "Operation": None}, f"Required parameter 'Operation' is missing; use one of {ALLOWED}."),
        ({"ApiVersion": "1.0", "Operation": "Pause"}, f"Unsupported Operation 'Pause'. Use one of {ALLOWED}."),
        ({"ApiVersion": "1.0", "Operation": "suspend"}, f"Unsupported Operation 'suspend'. Use one of {ALLOWED}."),
        (
            {"ApiVersion": "1.0", "Operation": "Suspend"},
            "Operation 'Suspend' needs ProactiveEngagementConfigId.",
        ),
        (
            {"ApiVersion": "1.0", "Operation": "Resume", "ProactiveEngagementConfigId": ""},
            "Operation 'Resume' needs ProactiveEngagementConfigId.",
        ),
        (
            {"ApiVersion": "1.0", "Operation": "Suspend", "ProactiveEngagementConfigId": DEMO_VOICE_CONFIG,
             "DeliveryId": UNKNOWN},
            "Operation 'Suspend' applies to an engagement; DeliveryId is used only with Cancel.",
        ),
        (
            {"ApiVersion": "1.0", "Operation": "Cancel"},
            "Operation 'Cancel' needs DeliveryId (one queued delivery) or ProactiveEngagementConfigId (every queued "
            "delivery of the engagement).",
        ),
        (
            {"ApiVersion": "1.0", "Operation": "Cancel", "ProactiveEngagementConfigId": "bad", "DeliveryId": "worse"},
            f"Invalid ProactiveEngagementConfigId 'bad': {GUID_HELP}",
        ),
        (
            {"ApiVersion": "1.0", "Operation": "Cancel", "DeliveryId": "worse"},
            f"Invalid DeliveryId 'worse': {GUID_HELP}",
        ),
        (
            {"ApiVersion": "1.1", "Operation": "Pause"},
            "Unsupported ApiVersion '1.1'. The supported version is '1.0'.",
        ),
    ],
)  # fmt: skip
def test_a_bad_operation_is_400_naming_what_is_allowed(client, agent_headers, database, body, expected):
    response = client.post(OPERATION_URL, json=body, headers=agent_headers)

    assert response.status_code == 400, response.text
    assert response.json() == error("0x80040203", expected)
    assert read_config(database, DEMO_VOICE_CONFIG).suspended is False


def test_operation_parameters_are_bound_as_the_intake_binds_them(client, agent_headers):
    unknown = client.post(
        OPERATION_URL, json={"ApiVersion": "1.0", "Operation": "Cancel", "Id": "x"}, headers=agent_headers
    )
    typed = client.post(OPERATION_URL, json={"ApiVersion": "1.0", "Operation": 1}, headers=agent_headers)
    duplicate = client.post(
        OPERATION_URL,
        content=b'{"ApiVersion":"1.0","Operation":"Cancel","Operation":"Suspend"}',
        headers=agent_headers,
    )
    annotated = client.post(
        OPERATION_URL,
        json={
            "@odata.type": "x",
            "ApiVersion": "1.0",
            "Operation": "Cancel",
            "ProactiveEngagementConfigId": DEMO_VOICE_CONFIG,
        },
        headers=agent_headers,
    )

    assert (unknown.status_code, unknown.json()["error"]["message"]) == (
        400,
        "The parameter 'Id' in the request payload is not a valid parameter for the operation 'CCaaS_CreateOperation'.",
    )
    assert (typed.status_code, typed.json()["error"]["message"]) == (
        400,
        "Invalid value for the parameter 'Operation' of the operation 'CCaaS_CreateOperation': expected a string: "
        "Suspend, Resume, Cancel, got a number.",
    )
    assert duplicate.status_code == 400
    assert "Multiple parameters with the name 'Operation'" in duplicate.json()["error"]["message"]
    assert annotated.status_code == 202


@pytest.mark.parametrize("url", [CANCEL_URL, OPERATION_URL])
def test_bodies_must_be_json_and_not_too_large(client, agent_headers, url):
    text = client.post(url, content=b"ApiVersion=1.0", headers={**agent_headers, "Content-Type": "text/plain"})
    broken = client.post(url, content=b'{"ApiVersion":', headers=agent_headers)
    huge = client.post(url, content=b'{"ApiVersion":"' + b"x" * 2_000_000 + b'"}', headers=agent_headers)

    assert (text.status_code, text.json()["error"]["code"]) == (415, "0x80060888")
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "0x80048d19")
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "0x80060888")


# --- 405: each answers one method ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("POST", get_tasks_url(UNKNOWN), "GET"),
        ("DELETE", get_tasks_url(UNKNOWN), "GET"),
        ("GET", CANCEL_URL, "POST"),
        ("PATCH", OPERATION_URL, "POST"),
    ],
)
def test_another_method_is_405_with_allow(client, agent_headers, method, url, allow):
    response = client.request(method, url, headers=agent_headers)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == error("0x80060888", f"The requested resource does not support http method '{method}'.")


def test_a_random_task_id_in_the_other_guid_forms_is_still_404(client, agent_headers):
    task = uuid.UUID(UNKNOWN)

    response = client.get(f"/api/data/v9.2/{GET_TASKS}(DeliveryTaskId='{task.hex}')", headers=agent_headers)

    assert response.status_code == 404
