"""CCaaS_GetDeliveryTasks (wire-facts A9): the documented expando of a task, on every Web API version."""

from __future__ import annotations

import uuid

import pytest

from ccaas_emulator.db.models import PlannerConfig
from ccaas_emulator.domain import ReattemptReason, WaitTimeUnit
from tests.support.demo import NOW, ORG_URL
from tests.support.tasks import (
    CANCEL_URL,
    DEFAULT_ORGANIZATION,
    GET_TASKS,
    SAMPLE_CONFIG,
    create_sample_task,
    get_tasks_url,
)
from tests.support.urls import PROACTIVE_URL

SAMPLE_CONTACT = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
KEY_ORDER = [
    "@odata.type", "deliveryTaskId", "organizationId", "status", "retryCount", "maxRetryCount", "whenCreated",
    "nextScheduledTime", "lastAttemptedTime", "fallbackAttempted", "channelType", "proactiveEngagementConfigId",
    "expirationDate", "reattemptDelay", "reattemptSettings@odata.type", "reattemptSettings", "contactIds@odata.type",
    "contactIds", "requestId", "customerReached", "callbackAttemptCount", "contactChainingStatus",
    "deliveries@odata.type", "deliveries",
]  # fmt: skip


def expected_sample_task(task_id: str, delivery_id: str, *, status: str, result: str | None, version: str) -> dict:
    """The answer for the 001_ voice sample's task: one contact, three phones, its one (first) dial."""
    return {
        "@odata.context": f"{ORG_URL}/api/data/{version}/$metadata#expando",
        "value": [
            {
                "@odata.type": "#Microsoft.Dynamics.CRM.expando",
                "deliveryTaskId": task_id,
                "organizationId": DEFAULT_ORGANIZATION,
                "status": status,
                "retryCount": 0,
                "maxRetryCount": 0,  # the demo engagement has no planner settings: no reattempts
                "whenCreated": "2026-11-24T12:00:00.000Z",
                "nextScheduledTime": None if status == "Cancelled" else "2025-12-10T09:00:00.000Z",
                "lastAttemptedTime": None,
                "fallbackAttempted": False,
                "channelType": "Voice",
                "proactiveEngagementConfigId": SAMPLE_CONFIG,
                "expirationDate": "2025-12-10T17:00:00.000Z",
                "reattemptDelay": 0,
                "reattemptSettings@odata.type": "#Collection(Int32)",
                "reattemptSettings": [],
                "contactIds@odata.type": "#Collection(String)",
                "contactIds": [SAMPLE_CONTACT],
                "requestId": "e1f2a3b4-c5d6-7890-abcd-ef1234567890",
                "customerReached": False,
                "callbackAttemptCount": 0,
                "contactChainingStatus": {
                    "@odata.type": "#Microsoft.Dynamics.CRM.expando",
                    "currentLoopNumber": 1,
                    "currentContactIndexAttempted": 0,
                    "currentContactIdAttempted": SAMPLE_CONTACT,
                    "currentPhoneIndexAttempted": 0,
                    "currentPhoneNumberTypeIdAttempted": "MobilePhoneNumber",
                    "totalContactsInChain": 1,
                    "totalPhonesInCurrentContact": 3,
                    "totalPhonesInChain": 3,
                    "totalEligiblePhonesInChain": 3,
                    "totalEligiblePhonesInCurrentContact": 3,
                    "areLoopsExhausted": False,
                    "isChainExhausted": False,
                    "seqNo": 1,
                    "lastDeliveryResult": None,
                },
                "deliveries@odata.type": "#Collection(Microsoft.Dynamics.CRM.crmbaseentity)",
                "deliveries": [
                    {
                        "@odata.type": "#Microsoft.Dynamics.CRM.expando",
                        "id": delivery_id,
                        "status": status,
                        "result": result,
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize("version", ["v9.0", "v9.1", "v9.2"])
def test_a_live_task_reads_back_in_the_documented_shape_and_order(client, agent_headers, version):
    task_id, delivery_id = create_sample_task(client, agent_headers)

    response = client.get(get_tasks_url(task_id, version), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert response.headers["odata-version"] == "4.0"
    body = response.json()
    assert body == expected_sample_task(task_id, delivery_id, status="Pending", result=None, version=version)
    assert list(body) == ["@odata.context", "value"]
    assert list(body["value"][0]) == KEY_ORDER
    assert list(body["value"][0]["contactChainingStatus"])[:2] == ["@odata.type", "currentLoopNumber"]


@pytest.mark.parametrize(
    "path",
    [
        "{name}(DeliveryTaskId=@p1)?@p1={id}",  # DynamicsWebApi's callFunction
        "{name}(DeliveryTaskId=@p1)?@p1='{id}'",
        "{name}(DeliveryTaskId='{id}')",
        "{name}(DeliveryTaskId=%27{id}%27)",
        "{name}( DeliveryTaskId = {id} )",
        "{name}(DeliveryTaskId={{{id}}})",  # .NET's braced form
    ],
)
def test_the_parameter_may_be_quoted_braced_or_an_alias(client, agent_headers, path):
    task_id, delivery_id = create_sample_task(client, agent_headers)

    response = client.get("/api/data/v9.0/" + path.format(name=GET_TASKS, id=task_id), headers=agent_headers)

    assert response.status_code == 200, response.text
    assert response.json() == expected_sample_task(task_id, delivery_id, status="Pending", result=None, version="v9.0")


def test_a_cancelled_task_reads_back_cancelled_with_its_cancelled_dial(client, agent_headers):
    task_id, delivery_id = create_sample_task(client, agent_headers)
    cancelled = client.post(CANCEL_URL, json={"ApiVersion": "1.0", "DeliveryTaskId": task_id}, headers=agent_headers)
    assert cancelled.status_code == 204

    response = client.get(get_tasks_url(task_id, "v9.2"), headers=agent_headers)

    assert response.status_code == 200
    assert response.json() == expected_sample_task(
        task_id, delivery_id, status="Cancelled", result="Cancelled", version="v9.2"
    )


def test_the_organization_id_follows_the_tenant(client, agent_headers):
    task_id, _ = create_sample_task(client, agent_headers)

    first = client.get(get_tasks_url(task_id), headers=agent_headers).json()["value"][0]["organizationId"]
    again = client.get(get_tasks_url(task_id, "v9.0"), headers=agent_headers).json()["value"][0]["organizationId"]

    assert first == again == DEFAULT_ORGANIZATION


def test_the_planner_settings_the_task_was_created_with_are_reported(client, agent_headers, database):
    # Two reasons, two retries an hour apart, and a phone order that leaves home phones out (not eligible).
    with database.transaction() as session:
        session.add(
            PlannerConfig(
                id=uuid.uuid4(), name="planner", engagement_config_id=uuid.UUID(SAMPLE_CONFIG), created_on=NOW,
                modified_on=NOW, reattempt_rules=(ReattemptReason.ANSWERING_MACHINE, ReattemptReason.NO_ANSWER),
                number_of_retries=2, delay_between_retries=1, wait_time_unit=WaitTimeUnit.HOURS,
                phone_type_priority="BusinessPhoneNumber,MobilePhoneNumber",
            )
        )  # fmt: skip
    contacts = [
        {"uniqueIdentifier": "c-1", "firstName": "A", "lastName": "B", "homePhoneNumber": "+15550700",
         "businessPhoneNumber": "+15550701"},
        {"uniqueIdentifier": "c-2", "firstName": "C", "lastName": "D", "mobilePhoneNumber": "+15550702",
         "homePhoneNumber": "+15550703"},
    ]  # fmt: skip
    created = client.post(
        PROACTIVE_URL,
        json={"ApiVersion": "1.0", "ProactiveEngagementConfigId": SAMPLE_CONFIG, "Contacts": contacts},
        headers=agent_headers,
    ).json()

    task = client.get(get_tasks_url(created["DeliveryTaskId"]), headers=agent_headers).json()["value"][0]

    assert (task["maxRetryCount"], task["reattemptDelay"], task["reattemptSettings"]) == (2, 1, [192360000, 192360003])
    assert task["requestId"] is None
    assert task["nextScheduledTime"] == "2026-11-24T12:00:00.000Z"  # no windows: the 24 hours from now
    assert task["expirationDate"] == "2026-11-25T12:00:00.000Z"
    assert len(task["contactIds"]) == 2 and task["contactIds"][0] != task["contactIds"][1]
    status = task["contactChainingStatus"]
    assert status["currentContactIdAttempted"] == task["contactIds"][0]
    assert (status["currentPhoneIndexAttempted"], status["currentPhoneNumberTypeIdAttempted"]) == (
        0,
        "BusinessPhoneNumber",
    )
    assert (status["totalContactsInChain"], status["totalPhonesInCurrentContact"], status["totalPhonesInChain"]) == (
        2,
        2,
        4,
    )
    assert (status["totalEligiblePhonesInChain"], status["totalEligiblePhonesInCurrentContact"]) == (2, 1)
